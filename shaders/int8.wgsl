// Block int8 codec: per-block absmax scale and signed bytes, 4 to a word, and its dequantize.
// Format and precision bound: lib/cpu/int8.ts (the CPU twin, bit for bit).
// Prelude constants: LEVELS (127u), INVERSE_LEVELS_BITS (fl(1/127)), MIN_ABSMAX_BITS.

// ---- quantize: per block, absmax then the packed words (block sizes are multiples of 4: no shared words). ----
// Two layouts that compute the same bits (lib/gpu/int8.ts picks one): `quantize` runs one
// workgroup per block, `quantize_per_thread` one thread per block (no barrier, no atomic: what
// lavapipe runs fastest). Both read the block as quads of 4 elements through src_quad, which
// the prelude defines over a vec4 view of src where src's words are vec4-aligned, else over
// words (lib/gpu/int8.ts); a quad may reach past the block's end, whose lanes are never used.

// QuantizeParams, the uniform block: declared in lib/gpu/int8.ts (QUANTIZE_LAYOUT), which prepends it.
@group(0) @binding(0) var<uniform> quantize_params: QuantizeParams;
@group(0) @binding(2) var<storage, read_write> quantize_packed: array<u32>;
@group(0) @binding(3) var<storage, read_write> quantize_scales: array<u32>;

// Zero-initialized by WGSL, which is the absmax of nothing.
var<workgroup> block_absmax: atomic<u32>;

fn scale_bits(absmax_bits: u32) -> u32 {
  if (is_nonfinite_bits(absmax_bits)) { return F32_QUIET_NAN; }
  if (absmax_bits < MIN_ABSMAX_BITS) { return 0u; } // keeps the scale and every product normal
  return bitcast<u32>(bitcast<f32>(absmax_bits) * bitcast<f32>(INVERSE_LEVELS_BITS));
}

// roundHalfEven(127 * x / absmax) from the integer fields: with gap = ea - ex (>= 0 as |x| <= a),
// 127|x|/a = 127 mx / (ma << gap), a quotient of integers below 2^31 and 2^32.
fn quantize_element(bits: u32, absmax_bits: u32) -> i32 {
  let gap = ((absmax_bits >> 23u) & 0xffu) - effective_exponent(bits);
  if (gap > 8u) { return 0; } // 127|x|/a < 127 * 2 / 2^9 < 1/2
  let numerator = LEVELS * significand(bits);
  let denominator = ((absmax_bits & F32_MANTISSA) | 0x800000u) << gap;
  let quotient = numerator / denominator;
  let remainder = numerator - quotient * denominator;
  let rest = denominator - remainder;
  let round_up = remainder > rest || (remainder == rest && (quotient & 1u) == 1u);
  let magnitude = i32(quotient + select(0u, 1u, round_up));
  return select(magnitude, -magnitude, (bits & F32_SIGN) != 0u);
}

// The largest sign-cleared bits of quad w of the block (elements 4w .. 4w + 3 below length).
// u32 max of sign-cleared bits orders non-negative floats (NaN above Inf): exact, order-free.
fn quad_absmax(start: u32, length: u32, w: u32) -> u32 {
  let quad = src_quad(start + 4u * w) & vec4u(~F32_SIGN);
  // Whole quads (all but a ragged block's last) without a loop of per-lane bound checks.
  if (w * 4u + 4u <= length) { return max(max(quad.x, quad.y), max(quad.z, quad.w)); }
  var absmax = 0u;
  for (var lane = 0u; lane < 4u && w * 4u + lane < length; lane++) { absmax = max(absmax, quad[lane]); }
  return absmax;
}

// Packed word w of the block: its elements' bytes, low lane first (zero when not quantized).
fn quantize_word(start: u32, length: u32, w: u32, absmax_bits: u32, quantized: bool) -> u32 {
  if (!quantized) { return 0u; }
  let quad = src_quad(start + 4u * w);
  let lanes = min(4u, length - w * 4u);
  var word = 0u;
  for (var lane = 0u; lane < 4u; lane++) {
    let byte = bitcast<u32>(quantize_element(quad[lane], absmax_bits)) & 0xffu;
    word |= select(0u, byte << (8u * lane), lane < lanes);
  }
  return word;
}

fn is_quantized(scale: u32) -> bool {
  return scale != 0u && scale != F32_QUIET_NAN;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = quantize_params;
  let block = workgroup_linear_index(wg, groups);
  if (block >= block_count(p.count, p.block_size)) { return; }
  let start = p.src_offset + block * p.block_size;
  let length = block_length(p.count, p.block_size, block);
  var absmax = 0u;
  for (var w = local; w * 4u < length; w += WORKGROUP_SIZE) { absmax = max(absmax, quad_absmax(start, length, w)); }
  atomicMax(&block_absmax, absmax);
  workgroupBarrier();
  let absmax_bits = atomicLoad(&block_absmax);
  let scale = scale_bits(absmax_bits);
  if (local == 0u) { quantize_scales[p.scales_offset + block] = scale; }
  let first_word = p.packed_offset + block * p.block_size / 4u;
  for (var w = local; w * 4u < length; w += WORKGROUP_SIZE) {
    quantize_packed[first_word + w] = quantize_word(start, length, w, absmax_bits, is_quantized(scale));
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize_per_thread(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = quantize_params;
  let block = linear_index(wg, groups, local);
  if (block >= block_count(p.count, p.block_size)) { return; }
  let start = p.src_offset + block * p.block_size;
  let length = block_length(p.count, p.block_size, block);
  var absmax_bits = 0u;
  for (var w = 0u; w * 4u < length; w++) { absmax_bits = max(absmax_bits, quad_absmax(start, length, w)); }
  let scale = scale_bits(absmax_bits);
  quantize_scales[p.scales_offset + block] = scale;
  let first_word = p.packed_offset + block * p.block_size / 4u;
  for (var w = 0u; w * 4u < length; w++) {
    quantize_packed[first_word + w] = quantize_word(start, length, w, absmax_bits, is_quantized(scale));
  }
}

// ---- dequantize: shaders/block-decode.wgsl (prepended) with y = fl(q * scale). ----

const PACKED_PER_WORD = 4u;

fn decode_value(word: u32, lane: u32, scale_bits: u32) -> u32 {
  let scale = flush_bits(scale_bits);
  // Byte `lane` moved to the top, then an arithmetic shift sign-extends it.
  let q = bitcast<i32>(word << (24u - 8u * lane)) >> 24u;
  let y = bitcast<u32>(f32(q) * bitcast<f32>(scale));
  return select(y, F32_QUIET_NAN, is_nonfinite_bits(scale));
}
