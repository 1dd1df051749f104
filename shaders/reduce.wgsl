// The reduce family: dst = fold(⊕, inputs) with an optional first-input scale and final
// division; the plan and its semantics are documented in lib/cpu/reduction.ts. The unit of work
// is a 32-bit word of dst (one element of a 32-bit dtype, two of a 16-bit float): `reduce`
// handles UNITS_PER_THREAD words per thread through u32 views of the bindings, `reduce_vec4` as
// many vec4s of words through vec4 views (lib/gpu/vec4-spans.ts says which words each gets;
// the vec4 form never sees the half-used last word of an odd 16-bit count). Which units a
// thread takes is thread_unit's (common.wgsl): coalesced on GPUs, consecutive on lavapipe.
//
// The prelude (lib/gpu/reduce.ts) declares:
//   alias Acc = f32 | i32 | u32;   arithmetic type (16-bit floats are computed in f32)
//   const STORAGE: u32;            STORAGE_WORD, STORAGE_F16 or STORAGE_BF16
//   const LANES: u32;              elements per word (1 or 2)
//   const IS_FLOAT: bool;
//   const OP: u32;                 OP_SUM, OP_PROD, OP_MIN, OP_MAX or OP_PREMUL_SUM
//   const INPUTS: u32;             1 .. MAX_INPUTS (a constant, so the fold over inputs unrolls
//                                  and the readers' switches fold away)
//   const FIRST_SCALED: bool;      multiply input 0 by the scalar (premulSum)
//   const DIVIDES: bool;           divide the result by Params.divisor (avg); constants rather
//                                  than uniforms: lavapipe runs a uniform branch's both sides
//                                  under a mask, an integer division per element included
//   the input bindings in0.. (u32 views) and in0_4.. (vec4 views), only for inputs that do not
//   lie in dst's buffer, and their readers read_input(j, at) and read_input_vec4(j, at)
//   (lib/gpu/input-bindings.ts): a variant declares only the storage buffers it binds.
// shaders/half.wgsl (the 16-bit codecs) and shaders/common.wgsl are prepended as well.

const STORAGE_WORD = 0u;
const STORAGE_F16 = 1u;
const STORAGE_BF16 = 2u;

const OP_SUM = 0u;
const OP_PROD = 1u;
const OP_MIN = 2u;
const OP_MAX = 3u;
const OP_PREMUL_SUM = 4u;

const MAX_INPUTS = 8u;

// The uniform block `Params` (units, count, dst_offset, scalar, divisor, inv_divisor,
// opaque_zero, offsets: array<vec4u, 2>) is declared once, in lib/gpu/reduce.ts
// (REDUCE_LAYOUT), and prepended to this source.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
// The same binding seen as vec4s, for reduce_vec4 (an entry point uses one view or the other).
@group(0) @binding(1) var<storage, read_write> dst4: array<vec4u>;

// Element w of input j, in the entry point's view. Inputs in dst's buffer are read through dst
// (a buffer bound writable may not be bound read-only in the same dispatch); the prelude's
// read_input / read_input_vec4 know which.
fn input_word(j: u32, w: u32) -> u32 {
  return read_input(j, params.offsets[j / 4u][j % 4u] + w);
}

fn input_vec4(j: u32, v: u32) -> vec4u {
  return read_input_vec4(j, params.offsets[j / 4u][j % 4u] + v);
}

fn widen(word: u32, lane: u32) -> Acc {
  let half = (word >> (16u * lane)) & 0xffffu;
  switch STORAGE {
    case STORAGE_F16: { return bitcast<Acc>(f16_bits_to_f32_bits(half)); }
    case STORAGE_BF16: { return bitcast<Acc>(bf16_bits_to_f32_bits(half)); }
    default: { return bitcast<Acc>(word); }
  }
}

fn narrow(value: Acc) -> u32 {
  let bits = bitcast<u32>(value);
  switch STORAGE {
    case STORAGE_F16: { return f32_bits_to_f16_bits(bits); }
    case STORAGE_BF16: { return f32_bits_to_bf16_bits(bits); }
    default: { return bits; }
  }
}

// NaN is tested on the bits (common.wgsl): WGSL lets compilers assume float comparisons never see NaN.
fn is_nan(value: Acc) -> bool {
  return IS_FLOAT && is_nan_f32_bits(bitcast<u32>(value));
}

// The NaN rule (lib/cpu/reduction.ts): an operation with a NaN operand gives its first NaN
// operand, quiet bit set, sign and payload kept. WGSL leaves NaN results to the device (lavapipe's
// x86 code keeps whichever operand LLVM ordered first; some GPUs return a canonical NaN), so
// each float operation passes its result through this, innermost operand last:
// keep_nan(a, keep_nan(x, a ⊕ x)). Integer kernels fold it away (IS_FLOAT is a constant).
fn keep_nan(operand: Acc, result: Acc) -> Acc {
  return select(result, bitcast<Acc>(bitcast<u32>(operand) | 0x00400000u), is_nan(operand));
}

// A NaN an arithmetic operation made from numbers (∞ - ∞, 0 × ∞) is CANONICAL_NAN (common.wgsl),
// not the device's own; applied to the sum, product and premulSum results before keep_nan.
// Selected as bits: a constant NaN is not a valid WGSL f32 value.
fn made_nan(result: Acc) -> Acc {
  return bitcast<Acc>(select(bitcast<u32>(result), CANONICAL_NAN, is_nan(result)));
}

// x * scalar rounded to an Acc before anything uses it, so that `acc + rounded_product(..)`
// is two roundings on every adapter, as on the CPU. WGSL has no way to forbid contraction:
// Vulkan drivers may fuse a multiply that feeds an add into one FMA (NVIDIA's does, which made
// premulSum differ from the CPU by 1 ulp), and WGSL's fma() may itself be unfused, so neither
// spelling is portable. The product's bits are xor-ed with a uniform the compiler cannot know
// (it is 0 at run time): the add's operand is then an integer result, not a multiply, and a
// bitcast round trip with a run-time operand cannot be folded away, so no compiler can fuse it.
// Two integer operations per product; only the premulSum paths pay them.
fn rounded_product(x: Acc, scalar: Acc) -> Acc {
  return bitcast<Acc>(bitcast<u32>(x * scalar) ^ params.opaque_zero);
}

// min and max propagate NaN (keep_nan); among equal values (+0 and -0) the earlier operand wins.
// premulSum's scalar is finite, so a NaN product is x's NaN (or 0 × ∞'s, no operand's: made_nan).
// `ruled` false gives a sum, product or premulSum without the rule's selects (see PROPAGATES).
fn combine(a: Acc, x: Acc, ruled: bool) -> Acc {
  var r: Acc;
  switch OP {
    case OP_SUM: { r = a + x; }
    case OP_PROD: { r = a * x; }
    case OP_MIN: { return keep_nan(a, keep_nan(x, select(x, a, a <= x))); }
    case OP_MAX: { return keep_nan(a, keep_nan(x, select(x, a, a >= x))); }
    default: { r = a + rounded_product(x, bitcast<Acc>(params.scalar)); }
  }
  if (ruled) { return keep_nan(a, keep_nan(x, made_nan(r))); }
  return r;
}

// Float sums and products (premulSum's too) are NaN wherever an operand or a step is, and a fold
// without a NaN anywhere is the same with or without the rule's selects. So a word is folded
// plainly, and folded again by the rule only when the result is NaN: the selects on every lane
// and every input cost 10-15% of the f32 sum kernel's speed on lavapipe, a test per result
// nothing measurable, and lavapipe skips the second fold unless a lane of its SIMD batch needs it.
// Min and max (which drop a NaN operand by themselves) take the rule on every step.
const PROPAGATES = IS_FLOAT && OP != OP_MIN && OP != OP_MAX;

fn divide(value: Acc) -> Acc {
  if (IS_FLOAT) { return keep_nan(value, value * bitcast<Acc>(params.inv_divisor)); }
  return value / Acc(params.divisor);
}

// One word's elements through the fold: input 0 (scaled when asked), then ⊕ each further
// input in order, then the final division; both entry points run exactly this per word.
fn first_lanes(word: u32, ruled: bool) -> array<Acc, LANES> {
  var acc: array<Acc, LANES>;
  for (var lane = 0u; lane < LANES; lane++) {
    acc[lane] = widen(word, lane);
    // Rounded on its own too: n-ary premulSum adds this product to the next one.
    if (FIRST_SCALED) {
      let product = rounded_product(acc[lane], bitcast<Acc>(params.scalar));
      acc[lane] = select(product, keep_nan(acc[lane], made_nan(product)), ruled);
    }
  }
  return acc;
}

fn fold_lanes(acc: array<Acc, LANES>, word: u32, ruled: bool) -> array<Acc, LANES> {
  var folded = acc;
  for (var lane = 0u; lane < LANES; lane++) { folded[lane] = combine(acc[lane], widen(word, lane), ruled); }
  return folded;
}

fn any_nan(acc: array<Acc, LANES>) -> bool {
  var nan = false;
  for (var lane = 0u; lane < LANES; lane++) { nan = nan | is_nan(acc[lane]); }
  return nan;
}

// The first `lanes` elements packed into a word (the other half, if any, left zero).
fn finish_lanes(acc: array<Acc, LANES>, lanes: u32) -> u32 {
  var out = 0u;
  for (var lane = 0u; lane < lanes; lane++) {
    var value = acc[lane];
    if (DIVIDES) { value = divide(value); }
    out |= narrow(value) << (16u * lane);
  }
  return out;
}

// Word w of every input folded (ruled: see PROPAGATES).
fn fold_word(w: u32, ruled: bool) -> array<Acc, LANES> {
  var acc = first_lanes(input_word(0u, w), ruled);
  for (var j = 1u; j < INPUTS; j++) { acc = fold_lanes(acc, input_word(j, w), ruled); }
  return acc;
}

// A thread's units are thread_unit's k = 0 .. UNITS_PER_THREAD-1, which lie `step` apart (1 or
// WORKGROUP_SIZE by layout): walked as a strided range with a run-time end rather than a loop
// over k with a break, which lavapipe ran up to 2x slower with 8 inputs (the unrolled body).
@compute @workgroup_size(WORKGROUP_SIZE)
fn reduce(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let first = thread_unit(wg, groups, local, 0u);
  let step = thread_unit(wg, groups, local, 1u) - first;
  let end = min(first + UNITS_PER_THREAD * step, params.units);
  for (var w = first; w < end; w += step) {
    var acc = fold_word(w, !PROPAGATES);
    if (PROPAGATES && any_nan(acc)) { acc = fold_word(w, true); }
    // The last word of an odd 16-bit count holds one of our elements and one that is not ours.
    let lanes = min(LANES, params.count - w * LANES);
    var kept = 0u;
    if (lanes < LANES) { kept = dst[params.dst_offset + w] & 0xffff0000u; }
    dst[params.dst_offset + w] = kept | finish_lanes(acc, lanes);
  }
}

// Vec4 v of every input folded (ruled: see PROPAGATES).
fn fold_vec4(v: u32, ruled: bool) -> array<array<Acc, LANES>, 4> {
  var acc: array<array<Acc, LANES>, 4>;
  let words = input_vec4(0u, v);
  for (var c = 0u; c < 4u; c++) { acc[c] = first_lanes(words[c], ruled); }
  for (var j = 1u; j < INPUTS; j++) {
    let more = input_vec4(j, v);
    for (var c = 0u; c < 4u; c++) { acc[c] = fold_lanes(acc[c], more[c], ruled); }
  }
  return acc;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn reduce_vec4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let first = thread_unit(wg, groups, local, 0u);
  let step = thread_unit(wg, groups, local, 1u) - first;
  let end = min(first + UNITS_PER_THREAD * step, params.units);
  for (var v = first; v < end; v += step) {
    var acc = fold_vec4(v, !PROPAGATES);
    if (PROPAGATES && (any_nan(acc[0]) || any_nan(acc[1]) || any_nan(acc[2]) || any_nan(acc[3]))) { acc = fold_vec4(v, true); }
    var out: vec4u;
    for (var c = 0u; c < 4u; c++) { out[c] = finish_lanes(acc[c], LANES); }
    dst4[params.dst_offset + v] = out;
  }
}
