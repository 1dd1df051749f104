// The bitpack family: values of LANE_BITS bits (1, 2, 4, 8, 16), one per u32, packed 32/LANE_BITS
// to a word, low lanes first, and back; the layout is documented in lib/cpu/bitpack.ts. Both
// directions work in packed words, UNITS_PER_THREAD of them per thread: `pack` zero-fills the
// unused lanes of the last word, `unpack` writes only the values that exist.
//
// The prelude (lib/gpu/bitpack.ts) declares `const LANE_BITS = <bits>u;`.

const LANES_PER_WORD = 32u / LANE_BITS;
const LANE_MASK = (1u << LANE_BITS) - 1u;

struct Params {
  units: u32,       // packed words (set by GpuContext.dispatch)
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
  let first = first_unit(wg, groups, local);
  for (var w = first; w < min(first + UNITS_PER_THREAD, params.units); w++) {
    let value = w * LANES_PER_WORD;
    var word = 0u;
    for (var lane = 0u; lane < min(LANES_PER_WORD, params.count - value); lane++) {
      word |= (src_word(value + lane) & LANE_MASK) << (lane * LANE_BITS);
    }
    dst[params.dst_offset + w] = word;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn unpack(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let first = first_unit(wg, groups, local);
  for (var w = first; w < min(first + UNITS_PER_THREAD, params.units); w++) {
    let word = src_word(w);
    let value = w * LANES_PER_WORD;
    for (var lane = 0u; lane < min(LANES_PER_WORD, params.count - value); lane++) {
      dst[params.dst_offset + value + lane] = (word >> (lane * LANE_BITS)) & LANE_MASK;
    }
  }
}
