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

fn is_quantized(scale: u32) -> bool {
  return scale != 0u && scale != F32_QUIET_NAN;
}

// What quantizing a block's elements needs of its absmax a, computed once per block.
struct BlockQuantizer {
  // Whether the bytes are computed at all (else all 0: a flushed or poisoned block).
  quantized: bool,
  // a's biased exponent field and its significand with the implicit bit (a is normal here).
  absmax_exponent: u32,
  absmax_significand: u32,
  // fl(127 / a) * (1 - 2^-9), the estimate's factor (quantize_quad).
  estimate_factor: f32,
}

fn block_quantizer(absmax_bits: u32, scale: u32) -> BlockQuantizer {
  return BlockQuantizer(
    is_quantized(scale), absmax_bits >> 23u, (absmax_bits & F32_MANTISSA) | 0x800000u,
    f32(LEVELS) / bitcast<f32>(absmax_bits) * (1.0 - 1.0 / 512.0),
  );
}

// 1.5 * 2^23: for 0 <= e < 2^22 the f32 sum e + ROUND_MAGIC is ROUND_MAGIC + roundHalfEven(e)
// (its ulp is 1), so subtracting the magic's bits gives that integer without a float-to-int
// conversion (which Tint guards with clamps, and lavapipe ran 1.5x slower with).
const ROUND_MAGIC = 12582912.0;

// The bytes q = roundHalfEven(127 x / a) of a quad (|x| <= a), two's complement in each lane's
// low 8 bits. No division, no branch per element; every step is exact or checked:
// 1. estimate: c = roundHalfEven(e), e = |x| * fl(127 / a) * (1 - 2^-9). The factor's error (a
//    few ulps; WGSL allows 2.5 for the division) is far below the 2^-9 bias, so with
//    t = 127|x|/a <= 127: t - t * 2^-8 < e < t (or e = t = 0), hence c is the exact result R or
//    R - 1 (also when the compiler fuses the multiply and add, or the add rounds toward zero).
// 2. the exact step: R = c + 1 iff t > c + 1/2, or t = c + 1/2 with c odd (ties to even). With
//    x = mx 2^(ex-150), a = ma 2^(ea-150) and g = ea - ex: t > c + 1/2 iff 254 mx > (2c + 1) ma 2^g,
//    i.e. (254 mx) >> g > (2c + 1) ma, or equal with nonzero bits shifted out. Both sides stay
//    below 2^32 (mx, ma < 2^24, c <= 127).
// 3. g > 8 gives t < 127 * 2 / 2^9 < 1/2: q = 0. Zero and subnormal x land here (exponent field
//    0: g = ea >= 9 in a quantized block), so the steps above only meet normal x.
fn quantize_quad(bits: vec4u, b: BlockQuantizer) -> vec4u {
  let magnitude = bits & vec4u(~F32_SIGN);
  let c = bitcast<vec4u>(bitcast<vec4f>(magnitude) * b.estimate_factor + vec4f(ROUND_MAGIC)) - vec4u(bitcast<u32>(ROUND_MAGIC));
  let gap = vec4u(b.absmax_exponent) - (magnitude >> vec4u(23u));
  let g = min(gap, vec4u(9u));
  let twice = vec4u(2u * LEVELS) * ((bits & vec4u(F32_MANTISSA)) | vec4u(0x800000u));
  let high = twice >> g;
  let bound = ((c << vec4u(1u)) | vec4u(1u)) * vec4u(b.absmax_significand);
  let up = (high > bound) | ((high == bound) & (((high << g) != twice) | ((c & vec4u(1u)) == vec4u(1u))));
  let q = c + select(vec4u(0u), vec4u(1u), up);
  let signed = select(q, vec4u(0u) - q, bits >= vec4u(F32_SIGN));
  return select(signed, vec4u(0u), gap > vec4u(8u));
}

// Packed word w of the block: its elements' bytes, low lane first (zero when not quantized).
fn quantize_word(start: u32, length: u32, w: u32, b: BlockQuantizer) -> u32 {
  let bytes = quantize_quad(src_quad(start + 4u * w), b) & vec4u(0xffu);
  let kept = (vec4u(0u, 1u, 2u, 3u) < vec4u(length - w * 4u)) & vec4<bool>(b.quantized);
  let placed = select(vec4u(0u), bytes << vec4u(0u, 8u, 16u, 24u), kept);
  return placed.x | placed.y | placed.z | placed.w;
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
  let quantizer = block_quantizer(absmax_bits, scale);
  for (var w = local; w * 4u < length; w += WORKGROUP_SIZE) {
    quantize_packed[first_word + w] = quantize_word(start, length, w, quantizer);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize_per_thread(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = quantize_params;
  let block = linear_index(wg, groups, local);
  if (block >= block_count(p.count, p.block_size)) { return; }
  let length = block_length(p.count, p.block_size, block);
  // The same code either way, but a whole block's loops run to p.block_size, a bound every
  // thread shares (uniform), which lavapipe runs faster than the per-thread `length`.
  if (length == p.block_size) { quantize_block_alone(block, p.block_size); } else { quantize_block_alone(block, length); }
}

// Block `block` (`length` elements) by one thread: its absmax, then its packed words.
fn quantize_block_alone(block: u32, length: u32) {
  let p = quantize_params;
  let start = p.src_offset + block * p.block_size;
  var absmax_bits = 0u;
  for (var w = 0u; w * 4u < length; w++) { absmax_bits = max(absmax_bits, quad_absmax(start, length, w)); }
  let scale = scale_bits(absmax_bits);
  quantize_scales[p.scales_offset + block] = scale;
  let first_word = p.packed_offset + block * p.block_size / 4u;
  let quantizer = block_quantizer(absmax_bits, scale);
  for (var w = 0u; w * 4u < length; w++) {
    quantize_packed[first_word + w] = quantize_word(start, length, w, quantizer);
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
