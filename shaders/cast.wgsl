// The cast family: f32 <-> a 16-bit float packed two per u32 word (element 2i in the low
// half). Rounding is RNE through shaders/half.wgsl (prepended), bit-identical to lib/cpu/cast.ts.
// The scalar entry points take UNITS_PER_THREAD packed words per thread, the vec4 ones
// (packed-io.wgsl) the whole words of aligned runs. An odd count leaves the upper half of the last packed word as it
// was (narrowing) and writes only the f32 elements that exist (widening).
//
// The prelude (lib/gpu/cast.ts) declares `const HALF = HALF_F16;` or `const HALF = HALF_BF16;`
// (shaders/half-lanes.wgsl, prepended, defines them with to_half and from_half);
// shaders/packed-io.wgsl (prepended) declares the bindings and src_word.

// What packed-io.wgsl's vec4 entry points (pack_vec4 = narrow, unpack_vec4 = widen) call.
const VALUES_PER_WORD = 2u;

fn encode_lane(value: u32, lane: u32) -> u32 {
  return to_half(value) << (16u * lane);
}

fn decode_lane(word: u32, lane: u32) -> u32 {
  return from_half((word >> (16u * lane)) & 0xffffu);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn narrow(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let first = first_unit(wg, groups, local);
  for (var w = first; w < min(first + UNITS_PER_THREAD, params.units); w++) {
    let low = to_half(src_word(2u * w));
    var high = dst[params.dst_offset + w] & 0xffff0000u;
    if (2u * w + 1u < params.count) { high = to_half(src_word(2u * w + 1u)) << 16u; }
    dst[params.dst_offset + w] = high | low;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn widen(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let first = first_unit(wg, groups, local);
  for (var w = first; w < min(first + UNITS_PER_THREAD, params.units); w++) {
    let packed = src_word(w);
    dst[params.dst_offset + 2u * w] = from_half(packed & 0xffffu);
    if (2u * w + 1u < params.count) { dst[params.dst_offset + 2u * w + 1u] = from_half(packed >> 16u); }
  }
}

// ---- widen + accumulate: dst = dst + widen(src), a ring hop's fold of a 16-bit payload in one
// pass (no f32 temporary, no separate reduce). Widening is exact integer work, so the one f32
// add per element (add_f32_bits, common.wgsl: the NaN rule, dst's NaN before src's) is the only
// rounding, as in widen-then-reduce.

@compute @workgroup_size(WORKGROUP_SIZE)
fn widen_accumulate(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let first = first_unit(wg, groups, local);
  for (var w = first; w < min(first + UNITS_PER_THREAD, params.units); w++) {
    let packed = src_word(w);
    let at = params.dst_offset + 2u * w;
    dst[at] = add_f32_bits(dst[at], from_half(packed & 0xffffu));
    if (2u * w + 1u < params.count) { dst[at + 1u] = add_f32_bits(dst[at + 1u], from_half(packed >> 16u)); }
  }
}

// unpack_vec4 of packed-io.wgsl, adding into dst.
@compute @workgroup_size(WORKGROUP_SIZE)
fn widen_accumulate_vec4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let v = thread_unit(wg, groups, local, k);
    if (v >= params.units) { return; }
    let words = read_input_vec4(0u, params.src_offset + v);
    for (var q = 0u; q < 2u; q++) {
      let at = params.dst_offset + v * 2u + q;
      let old = dst4[at];
      let low = words[2u * q];
      let high = words[2u * q + 1u];
      dst4[at] = vec4u(
        add_f32_bits(old.x, from_half(low & 0xffffu)), add_f32_bits(old.y, from_half(low >> 16u)),
        add_f32_bits(old.z, from_half(high & 0xffffu)), add_f32_bits(old.w, from_half(high >> 16u)),
      );
    }
  }
}
