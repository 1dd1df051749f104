// Shared by the codecs whose decode is elementwise from packed words and one scale per block
// (int8.wgsl dequantize, onebit.wgsl decompress); lib/gpu/block-decode.ts prepends it. The
// family's source defines what differs:
//   const PACKED_PER_WORD: u32                                      values packed in one u32 word (4 or more)
//   fn decode_value(word: u32, lane: u32, scale_bits: u32) -> u32   value `lane` of `word`, as f32 bits
// The unit is a quad of 4 elements (UNITS_PER_THREAD per thread, in the device's unit layout):
// block sizes are multiples of 4 and PACKED_PER_WORD is 4 or more, so a quad's values share one
// packed word and one scale, read once. `decode_vec4` stores the quad as one vec4 (dst on a vec4
// boundary, whole quads: lib/gpu/block-decode.ts checks), `decode` as four words up to the count.
// In the consecutive unit layout whole packed words are the unit instead (`decode_word*`,
// `decode_words*`, at the end of this file).

// DecodeParams, the uniform block: declared in lib/gpu/block-decode.ts (DECODE_LAYOUT), which prepends it.
@group(0) @binding(0) var<uniform> decode_params: DecodeParams;
@group(0) @binding(1) var<storage, read> decode_packed: array<u32>;
@group(0) @binding(2) var<storage, read> decode_scales: array<u32>;
@group(0) @binding(3) var<storage, read_write> decode_dst: array<u32>;
// The same binding seen as vec4s (an entry point uses one view).
@group(0) @binding(3) var<storage, read_write> decode_dst4: array<vec4u>;

const QUADS_PER_WORD = PACKED_PER_WORD / 4u;

// Quad q (< QUADS_PER_WORD) of a packed word, decoded with its block's scale.
fn quad_of_word(word: u32, q: u32, scale_bits: u32) -> vec4u {
  var out: vec4u;
  for (var e = 0u; e < 4u; e++) { out[e] = decode_value(word, 4u * q + e, scale_bits); }
  return out;
}

// The scale of the block holding element `element` of the piece.
fn element_scale(element: u32) -> u32 {
  let p = decode_params;
  // The block index by a multiply (quantize-common.wgsl): a u32 division by a uniform is
  // scalarized per lane on CPU adapters and a long sequence on GPUs.
  return decode_scales[p.scales_offset + divide_by_block(element, p.block_magic, p.block_shift)];
}

fn decode_quad(quad: u32) -> vec4u {
  let first = quad * 4u;
  let word = decode_packed[decode_params.packed_offset + first / PACKED_PER_WORD];
  return quad_of_word(word, quad % QUADS_PER_WORD, element_scale(first));
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
// decode-then-add. NaN by the rule (first_nan_f32x4, common.wgsl): dst's NaN before the decoded
// value's, which keeps its own sign when subtracted (the operand of x - y is y, not -y).
// Subtracting, a poisoned block's lanes (decoded to F32_QUIET_NAN; int8 decodes no other NaN)
// are reset to 0 instead: the feedback rule of lib/cpu/int8.ts.

fn fold_quad(old: vec4u, decoded: vec4u) -> vec4u {
  let folded = first_nan_f32x4(old, decoded, bitcast<vec4u>(bitcast<vec4f>(old) + bitcast<vec4f>(decoded ^ vec4u(decode_params.sign_flip))));
  return select(folded, vec4u(0u), (decoded == vec4u(F32_QUIET_NAN)) & vec4<bool>(decode_params.sign_flip != 0u));
}

fn fold_lane(old: u32, decoded: u32) -> u32 {
  let folded = first_nan_f32(old, decoded, bitcast<u32>(bitcast<f32>(old) + bitcast<f32>(decoded ^ decode_params.sign_flip)));
  return select(folded, 0u, decoded == F32_QUIET_NAN && decode_params.sign_flip != 0u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn decode_accumulate(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let quad = thread_unit(wg, groups, local, k);
    if (quad >= decode_params.units) { return; }
    let decoded = decode_quad(quad);
    for (var e = 0u; e < 4u && quad * 4u + e < decode_params.count; e++) {
      let at = decode_params.dst_offset + quad * 4u + e;
      decode_dst[at] = fold_lane(decode_dst[at], decoded[e]);
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn decode_accumulate_vec4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let quad = thread_unit(wg, groups, local, k);
    if (quad >= decode_params.units) { return; }
    let at = decode_params.dst_offset / 4u + quad;
    decode_dst4[at] = fold_quad(decode_dst4[at], decode_quad(quad));
  }
}

// ---- whole packed words per unit, for the consecutive unit layout (lavapipe) and pieces of
// whole units into a dst on a vec4 boundary (lib/gpu/block-decode.ts): each word and its scale
// are read once for all the word's quads instead of once per quad. A word never straddles two
// blocks (block sizes are multiples of PACKED_PER_WORD). Not for GPUs: a thread's stores would
// lie 16 * PACKED_PER_WORD bytes or more from its neighbour's. Two unit sizes:
// - `decode_word*`: one word (onebit's 32 elements; four of them ran slower there);
// - `decode_words*`: four words read as one vec4 (int8's 16 elements; its packed part on a vec4
//   boundary too), one scale read for all four unless they span two blocks.

@group(0) @binding(1) var<storage, read> decode_packed4: array<vec4u>;

// A word's quads into dst from quad `first_quad` of the piece: stored, or folded (accumulate,
// a constant at every call, so the branch folds away).
fn put_word(word: u32, scale_bits: u32, first_quad: u32, accumulate: bool) {
  for (var q = 0u; q < QUADS_PER_WORD; q++) {
    let at = decode_params.dst_offset / 4u + first_quad + q;
    let quad = quad_of_word(word, q, scale_bits);
    if (accumulate) { decode_dst4[at] = fold_quad(decode_dst4[at], quad); } else { decode_dst4[at] = quad; }
  }
}

fn decode_word_units(wg: vec3u, groups: vec3u, local: u32, accumulate: bool) {
  let p = decode_params;
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let w = thread_unit(wg, groups, local, k);
    if (w >= p.units) { return; }
    put_word(decode_packed[p.packed_offset + w], element_scale(w * PACKED_PER_WORD), w * QUADS_PER_WORD, accumulate);
  }
}

// The scales of words first_word .. first_word + 3 (numbered within the piece).
fn word_scales(first_word: u32) -> vec4u {
  let p = decode_params;
  let first_block = divide_by_block(first_word * PACKED_PER_WORD, p.block_magic, p.block_shift);
  let last_block = divide_by_block((first_word + 3u) * PACKED_PER_WORD, p.block_magic, p.block_shift);
  let first_scale = decode_scales[p.scales_offset + first_block];
  // Lanes of a SIMD batch skip the other side unless one of them spans two blocks.
  if (first_block == last_block) { return vec4u(first_scale); }
  return vec4u(first_scale, element_scale((first_word + 1u) * PACKED_PER_WORD), element_scale((first_word + 2u) * PACKED_PER_WORD),
    decode_scales[p.scales_offset + last_block]);
}

fn decode_vec4_word_units(wg: vec3u, groups: vec3u, local: u32, accumulate: bool) {
  let p = decode_params;
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let u = thread_unit(wg, groups, local, k);
    if (u >= p.units) { return; }
    let words = decode_packed4[p.packed_offset / 4u + u];
    let scales = word_scales(4u * u);
    for (var i = 0u; i < 4u; i++) { put_word(words[i], scales[i], (4u * u + i) * QUADS_PER_WORD, accumulate); }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn decode_word(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  decode_word_units(wg, groups, local, false);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn decode_word_accumulate(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  decode_word_units(wg, groups, local, true);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn decode_words(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  decode_vec4_word_units(wg, groups, local, false);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn decode_words_accumulate(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  decode_vec4_word_units(wg, groups, local, true);
}
