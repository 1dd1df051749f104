// The bitpack family: values of LANE_BITS bits (1, 2, 4, 8, 16), one per u32, packed 32/LANE_BITS
// to a word, low lanes first, and back; the layout is documented in lib/cpu/bitpack.ts. `pack`
// runs one thread per packed word (it zero-fills the unused lanes of the last word), `unpack`
// one thread per value (neighbouring threads read the same word, writes stay contiguous).
//
// The prelude (lib/gpu/bitpack.ts) declares `const LANE_BITS = <bits>u;`.

const LANES_PER_WORD = 32u / LANE_BITS;
const LANE_MASK = (1u << LANE_BITS) - 1u;

struct Params {
  threads: u32,     // packed words (pack) or values (unpack); set by GpuContext.dispatch
  count: u32,       // values
  dst_offset: u32,  // words, from the start of the dst binding
  src_offset: u32,  // words, from the start of the binding src is read through
  src_via_dst: u32, // 1: src lies in dst's buffer and is read through the dst binding
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<u32>;

fn src_word(i: u32) -> u32 {
  if (params.src_via_dst != 0u) { return dst[params.src_offset + i]; }
  return src[params.src_offset + i];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn pack(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let w = linear_index(wg, groups, local);
  if (w >= params.threads) { return; }
  let first = w * LANES_PER_WORD;
  let lanes = min(LANES_PER_WORD, params.count - first);
  var word = 0u;
  for (var lane = 0u; lane < lanes; lane++) {
    word |= (src_word(first + lane) & LANE_MASK) << (lane * LANE_BITS);
  }
  dst[params.dst_offset + w] = word;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn unpack(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let i = linear_index(wg, groups, local);
  if (i >= params.threads) { return; }
  let word = src_word(i / LANES_PER_WORD);
  dst[params.dst_offset + i] = (word >> ((i % LANES_PER_WORD) * LANE_BITS)) & LANE_MASK;
}
