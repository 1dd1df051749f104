// The bitpack family: values of LANE_BITS bits (1, 2, 4, 8, 16), one per u32, packed 32/LANE_BITS
// to a word, low lanes first, and back; the layout is documented in lib/cpu/bitpack.ts. The
// scalar entry points here work in packed words, UNITS_PER_THREAD of them per thread: `pack`
// zero-fills the unused lanes of the last word, `unpack` writes only the values that exist; the
// vec4 ones (packed-io.wgsl) take the whole words of aligned runs.
//
// The prelude (lib/gpu/bitpack.ts) declares `const LANE_BITS = <bits>u;`; shaders/packed-io.wgsl
// (prepended) declares the bindings and src_word.

const LANES_PER_WORD = 32u / LANE_BITS;
const LANE_MASK = (1u << LANE_BITS) - 1u;

// What packed-io.wgsl's vec4 entry points (pack_vec4, unpack_vec4) call.
const VALUES_PER_WORD = LANES_PER_WORD;

fn encode_lane(value: u32, lane: u32) -> u32 {
  return (value & LANE_MASK) << (lane * LANE_BITS);
}

fn decode_lane(word: u32, lane: u32) -> u32 {
  return (word >> (lane * LANE_BITS)) & LANE_MASK;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn pack(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let first = first_unit(wg, groups, local);
  for (var w = first; w < min(first + UNITS_PER_THREAD, params.units); w++) {
    let value = w * LANES_PER_WORD;
    var word = 0u;
    for (var lane = 0u; lane < min(LANES_PER_WORD, params.count - value); lane++) {
      word |= encode_lane(src_word(value + lane), lane);
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
      dst[params.dst_offset + value + lane] = decode_lane(word, lane);
    }
  }
}
