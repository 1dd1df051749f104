// Shared by the codecs whose decode is elementwise from packed words and one scale per block
// (int8.wgsl dequantize, onebit.wgsl decompress); lib/gpu/block-decode.ts prepends it. The
// family's source defines what differs:
//   const PACKED_PER_WORD: u32                                      values packed in one u32 word (4 or more)
//   fn decode_value(word: u32, lane: u32, scale_bits: u32) -> u32   value `lane` of `word`, as f32 bits
// The unit is a quad of 4 elements (UNITS_PER_THREAD per thread, in the device's unit layout):
// block sizes are multiples of 4 and PACKED_PER_WORD is 4 or more, so a quad's values share one
// packed word and one scale, read once. `decode_vec4` stores the quad as one vec4 (dst on a vec4
// boundary, whole quads: lib/gpu/block-decode.ts checks), `decode` as four words up to the count.

// DecodeParams, the uniform block: declared in lib/gpu/block-decode.ts (DECODE_LAYOUT), which prepends it.
@group(0) @binding(0) var<uniform> decode_params: DecodeParams;
@group(0) @binding(1) var<storage, read> decode_packed: array<u32>;
@group(0) @binding(2) var<storage, read> decode_scales: array<u32>;
@group(0) @binding(3) var<storage, read_write> decode_dst: array<u32>;
// The same binding seen as vec4s (an entry point uses one view).
@group(0) @binding(3) var<storage, read_write> decode_dst4: array<vec4u>;

fn decode_quad(quad: u32) -> vec4u {
  let p = decode_params;
  let first = quad * 4u;
  let word = decode_packed[p.packed_offset + first / PACKED_PER_WORD];
  // The block index by a multiply (quantize-common.wgsl): a u32 division by a uniform is
  // scalarized per lane on CPU adapters and a long sequence on GPUs.
  let scale_bits = decode_scales[p.scales_offset + divide_by_block(first, p.block_magic, p.block_shift)];
  let lane = first % PACKED_PER_WORD;
  var out: vec4u;
  for (var e = 0u; e < 4u; e++) { out[e] = decode_value(word, lane + e, scale_bits); }
  return out;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn decode(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let quad = thread_unit(wg, groups, local, k);
    if (quad >= decode_params.units) { return; }
    let out = decode_quad(quad);
    for (var e = 0u; e < 4u && quad * 4u + e < decode_params.count; e++) { decode_dst[decode_params.dst_offset + quad * 4u + e] = out[e]; }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn decode_vec4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let quad = thread_unit(wg, groups, local, k);
    if (quad >= decode_params.units) { return; }
    decode_dst4[decode_params.dst_offset / 4u + quad] = decode_quad(quad);
  }
}

// ---- decode + accumulate: dst = dst + decode(payload), a ring hop's fold in one pass instead
// of a decode into scratch and a reduce over it; or dst = dst - decode(payload) (an int8
// error-feedback residual: v minus what was sent). The decoded bits are xor-ed with
// decode_params.sign_flip (0, or the sign bit to subtract: x + (-y) is x - y exactly), a
// uniform the compiler cannot know, so no compiler can contract int8's scale multiply and this
// add into an FMA (reduce.wgsl's rounded_product explains why): two roundings, bit for bit
// decode-then-add.

fn accumulate_quad(old: vec4u, quad: u32) -> vec4u {
  let decoded = decode_quad(quad) ^ vec4u(decode_params.sign_flip);
  return bitcast<vec4u>(bitcast<vec4f>(old) + bitcast<vec4f>(decoded));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn decode_accumulate(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let quad = thread_unit(wg, groups, local, k);
    if (quad >= decode_params.units) { return; }
    let out = decode_quad(quad) ^ vec4u(decode_params.sign_flip);
    for (var e = 0u; e < 4u && quad * 4u + e < decode_params.count; e++) {
      let at = decode_params.dst_offset + quad * 4u + e;
      decode_dst[at] = bitcast<u32>(bitcast<f32>(decode_dst[at]) + bitcast<f32>(out[e]));
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn decode_accumulate_vec4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let quad = thread_unit(wg, groups, local, k);
    if (quad >= decode_params.units) { return; }
    let at = decode_params.dst_offset / 4u + quad;
    decode_dst4[at] = accumulate_quad(decode_dst4[at], quad);
  }
}
