// SwitchML codec (after Sapio et al., "Scaling Distributed Machine Learning with In-Network
// Aggregation", NSDI 2021): f32 values become i32 so that n workers' values can be summed
// exactly in integer arithmetic (by a programmable switch, or any integer allreduce) and
// turned back into f32 once, after the sum.
//
// Format (per block of `blockSize` consecutive elements; the last block may be shorter):
//   exponent   i32 per block: E_b = max over the block of e(x), where for an f32 x with biased
//              exponent field B, e(x) = max(B, 1) - 126. For normal x that is the smallest
//              integer with |x| < 2^e; zeros and subnormals get -125 (|x| < 2^-125 holds).
//              Range [-125, 128]; a block holding NaN or ±Inf gets 129 (NONFINITE).
//   agreement  the workers exchange exponents and take the elementwise max (mergeExponents):
//              emax_b. The exchange is the caller's (a max-allreduce over i32).
//   value      i32 per element: q = roundHalfEven(x * f_b), with f_b = M * 2^-emax_b and
//              M = floor((2^31 - 1) / n) for n workers (the per-worker budget).
//   sum        S = Σ q over the workers, exact in i32 (proof below).
//   result     f32 per element: y = S / f_b, computed as fl(fl(fl(|S|) * r) * 2^emax_b) with the
//              sign of S, r = fl(1/M); results below 2^-126 in magnitude flush to +0, results
//              of 2^128 or more become ±Inf; a block whose emax_b is NONFINITE becomes NaN.
//
// No overflow, for any inputs: |x| < 2^e(x) <= 2^emax, so |x * f| < M. Rounding to the nearest
// integer is monotone and M is an integer, hence |q| <= M; the n-worker sum, and every partial
// sum on the way in any order, has |S| <= n*M <= 2^31 - 1. The contract-violating cases keep
// |q| <= M too: an element above the agreed exponent (emax smaller than its own block's E_b)
// saturates to ±M; NaN, ±Inf and every element of a NONFINITE block quantize to 0.
//
// Precision: q is computed with exact integer arithmetic (x * M is a 55-bit product, rounded
// once), so |q - x f| <= 1/2 and, per worker, |q/f - x| <= 2^emax / (2M) (about
// n * 2^emax / (2^32 - 2): half a quantization step). Over n workers |S/f - Σx| <= n * 2^emax / (2M).
// Dequantizing rounds three times (|S| to f32, r, the product; scaling by 2^emax is exact), so
// |y - S/f| <= ((1 + 2^-24)^3 - 1) |S/f| < 3.0000002 * 2^-24 * |S/f| <= 3.0000002 * 2^-24 * n * 2^emax,
// unless y flushed to zero (then |y - S/f| < 2^-126). Altogether, per element:
//   |y - Σx| <= n * 2^emax / (2M) + 3.0000002 * 2^-24 * |S/f|.
//
// Why the GPU agrees bit for bit: quantizing is integer-only (f32 fields, a 24x31-bit product,
// a rounding shift); dequantizing uses one exact f32 sum (|S| split into 16-bit halves), one
// correctly rounded f32 product and exponent-field arithmetic, never a division, a rounded
// int-to-float conversion or a subnormal.
import { invalidArgument } from '../errors.js';
import { blockCount, checkArrayLength, checkBlockLayout } from './blocks.js';
import { bitsOf, effectiveExponent, F32_EXPONENT, F32_MANTISSA, F32_QUIET_NAN, F32_SIGN, isNonFiniteBits, significand } from './f32-fields.js';
import { f32ToBits } from './half.js';

export const SWITCHML_MIN_EXPONENT = -125;
export const SWITCHML_MAX_EXPONENT = 128;
/** Block exponent of a block that holds NaN or ±Inf; it wins the max exchange, so all workers see it. */
export const SWITCHML_NONFINITE_EXPONENT = 129;
const INT32_MAX = 2 ** 31 - 1;

export function checkWorkers(what: string, workers: number): void {
  if (!Number.isInteger(workers) || workers < 1 || workers > INT32_MAX) {
    throw invalidArgument(`${what}: workers ${workers} is not an integer in [1, ${INT32_MAX}]`);
  }
}

/** M = floor((2^31 - 1) / n): the largest |q| one worker may contribute. */
export function switchmlWorkerBudget(workers: number): number {
  checkWorkers('switchml', workers);
  return Math.floor(INT32_MAX / workers);
}

/** r = fl(1/M), the f32 factor dequantizing multiplies by (the GPU gets the same value). */
export function switchmlDequantizeFactor(workers: number): number {
  return Math.fround(1 / switchmlWorkerBudget(workers));
}

/** e(x) of one f32 bit pattern (see the format above). */
export function switchmlElementExponent(bits: number): number {
  return isNonFiniteBits(bits) ? SWITCHML_NONFINITE_EXPONENT : effectiveExponent(bits) - 126;
}

/** The local exponent of every block of x[0..count). */
export function switchmlBlockExponents(
  x: Float32Array, count: number, blockSize: number, out?: Int32Array,
): Int32Array {
  checkBlockLayout('switchml exponents', count, blockSize);
  out ??= new Int32Array(blockCount(count, blockSize));
  checkArrayLength('switchml exponents: x', x, count);
  checkArrayLength('switchml exponents: out', out, blockCount(count, blockSize));
  const bits = bitsOf(x);
  for (let block = 0; block * blockSize < count; block++) {
    const end = Math.min(count, (block + 1) * blockSize);
    let exponent = SWITCHML_MIN_EXPONENT;
    for (let i = block * blockSize; i < end; i++) exponent = Math.max(exponent, switchmlElementExponent(bits[i]!));
    out[block] = exponent;
  }
  return out;
}

/** into[b] = max(into[b], other[b]): one step of the exponent agreement. */
export function switchmlMergeExponents(into: Int32Array, other: Int32Array): void {
  checkArrayLength('switchml merge: other', other, into.length);
  for (let b = 0; b < into.length; b++) into[b] = Math.max(into[b]!, other[b]!);
}

/** Whether an agreed exponent array flags a block holding NaN or ±Inf on some worker. */
export function switchmlHasNonFinite(exponents: Int32Array): boolean {
  return exponents.some((e) => e > SWITCHML_MAX_EXPONENT);
}

/** q for every element, given the agreed exponents. */
export function switchmlQuantize(
  x: Float32Array, exponents: Int32Array, count: number, blockSize: number, workers: number, out?: Int32Array,
): Int32Array {
  checkBlockLayout('switchml quantize', count, blockSize);
  const budget = switchmlWorkerBudget(workers);
  out ??= new Int32Array(count);
  checkElementwiseArrays('switchml quantize', 'x', x, exponents, out, count, blockSize);
  const bits = bitsOf(x);
  for (let i = 0; i < count; i++) out[i] = quantizeElement(bits[i]!, exponents[Math.floor(i / blockSize)]!, budget);
  return out;
}

/** y for every element of an n-worker sum, given the agreed exponents. */
export function switchmlDequantize(
  sums: Int32Array, exponents: Int32Array, count: number, blockSize: number, workers: number, out?: Float32Array,
): Float32Array {
  checkBlockLayout('switchml dequantize', count, blockSize);
  const factor = switchmlDequantizeFactor(workers);
  out ??= new Float32Array(count);
  checkElementwiseArrays('switchml dequantize', 'sums', sums, exponents, out, count, blockSize);
  const outBits = bitsOf(out);
  for (let i = 0; i < count; i++) outBits[i] = dequantizeElement(sums[i]!, exponents[Math.floor(i / blockSize)]!, factor);
  return out;
}

/** The arrays of quantize and dequantize: one input and out per element, exponents per block. */
function checkElementwiseArrays(
  what: string, inputName: string, input: ArrayLike<number>, exponents: Int32Array, out: ArrayLike<number>, count: number, blockSize: number,
): void {
  checkArrayLength(`${what}: ${inputName}`, input, count);
  checkArrayLength(`${what}: exponents`, exponents, blockCount(count, blockSize));
  checkArrayLength(`${what}: out`, out, count);
}

function quantizeElement(bits: number, emax: number, budget: number): number {
  if (isNonFiniteBits(bits) || emax > SWITCHML_MAX_EXPONENT) return 0;
  const m = significand(bits);
  if (m === 0) return 0;
  // |x| * 2^-emax = m * 2^-(24 + shift), and m < 2^24 makes that < 2^-shift.
  const shift = emax - (effectiveExponent(bits) - 126);
  let magnitude: number;
  if (shift < 0) magnitude = budget; // x exceeds the agreed exponent: saturate (caller's contract broken)
  else if (shift > 31) magnitude = 0; // |x f| < 2^(31 - shift) <= 1/2
  else magnitude = scaleSignificand(m, budget, shift);
  return (bits & F32_SIGN) !== 0 ? -magnitude : magnitude;
}

/**
 * roundHalfEven(m * M / 2^(24 + shift)) exactly, for m < 2^24, M < 2^31, 0 <= shift <= 31.
 * m * M needs 55 bits, more than a double holds, so M is split at bit 16 and the product is
 * carried as whole = floor(m*M / 2^24) (< 2^31) and fraction = m*M mod 2^24 (the GPU gets the
 * same two words from a 32x32->64-bit multiply).
 */
function scaleSignificand(m: number, budget: number, shift: number): number {
  const low = m * (budget & 0xffff); // < 2^40, exact
  const high = m * (budget >>> 16) + Math.floor(low / 0x10000); // m*M = high * 2^16 + low % 2^16
  const whole = Math.floor(high / 0x100);
  const fraction = (high % 0x100) * 0x10000 + (low % 0x10000);
  return roundShiftHalfEven(whole, fraction, shift);
}

/** roundHalfEven((whole + fraction / 2^24) / 2^shift) for whole < 2^31, fraction < 2^24. */
function roundShiftHalfEven(whole: number, fraction: number, shift: number): number {
  const kept = whole >>> shift;
  let roundUp: boolean;
  if (shift === 0) {
    roundUp = fraction > 0x800000 || (fraction === 0x800000 && (kept & 1) === 1);
  } else {
    const dropped = whole - kept * 2 ** shift;
    const half = 2 ** (shift - 1);
    roundUp = dropped > half || (dropped === half && (fraction > 0 || (kept & 1) === 1));
  }
  return roundUp ? kept + 1 : kept;
}

function dequantizeElement(sum: number, emax: number, factor: number): number {
  if (emax > SWITCHML_MAX_EXPONENT) return F32_QUIET_NAN;
  if (sum === 0) return 0;
  const sign = sum < 0 ? F32_SIGN : 0;
  // fl(|S|) then one rounded product: |S| in [1, 2^31] and r in [2^-31, 1] keep it normal.
  const scaled = f32ToBits(Math.fround(Math.abs(sum)) * factor);
  const exponent = ((scaled >>> 23) & 0xff) + emax;
  if (exponent >= 0xff) return (sign | F32_EXPONENT) >>> 0;
  if (exponent <= 0) return 0;
  return (sign | (exponent << 23) | (scaled & F32_MANTISSA)) >>> 0;
}
