// Block int8 codec: each block of `blockSize` elements (the last one may be shorter) is stored
// as one f32 scale and one signed byte per element, 4 bytes to a u32 word.
//
// Format:
//   absmax a_b   max |x| over the block, taken on the bit patterns (u32 max of the sign-cleared
//                bits orders non-negative floats exactly, so any order agrees).
//   scale  s_b   f32 per block, fl(a_b * fl(1/127)); 0 when a_b < 2^-118 (a "flushed" block:
//                all its bytes are 0, keeping every f32 operation clear of subnormals); NaN
//                (0x7fc00000) when the block holds NaN or ±Inf (bytes 0, result NaN: the
//                non-finite value poisons its block).
//   byte   q    int8, q = roundHalfEven(127 * x / a_b), in [-127, 127] (never -128), computed
//                exactly with integer arithmetic on the f32 fields.
//   packing      element i in word floor(i / 4), bits 8*(i % 4) .. 8*(i % 4) + 7, two's
//                complement: an Int8Array view of the words on a little-endian host. The last
//                word of a ragged tensor is padded with zero bytes. blockSize must be a
//                multiple of 4, so no word spans two blocks.
//   dequantize   y = fl(q * s_b); NaN for every element of a block whose scale is NaN or ±Inf; a
//                subnormal scale (never produced here) counts as 0.
//   fold         acc + y (decode-accumulate, a ring hop) by the NaN rule of reduction.ts: acc's
//                NaN quieted, else a poisoned block's 0x7fc00000, else the f32 sum.
//   feedback     v = residual + x (the reduce kernel's f32 sum); the residual becomes v - y,
//                except in a poisoned block (v holds NaN or ±Inf), whose residual is reset to
//                0, as 1-bit's is (lib/cpu/onebit.ts): a caller that skips the step (a dynamic
//                loss scaler) starts the next one clean. Reset rather than left as it was,
//                because v overwrites the residual before the block is known to be poisoned
//                (on the GPU too: sum, quantize and subtract are separate kernels in place),
//                and because a residual that itself held the NaN would otherwise poison every
//                later call. Only the carried error of that block (at most a/254 per element)
//                is dropped.
//
// Precision (normal blocks): |q - 127 x / a| <= 1/2, so |q a / 127 - x| <= a / 254; the scale
// and the product round three times in all (fl(1/127), a*C, q*s), so
//   |y - x| <= a / 254 + 3.0000002 * 2^-24 * a.
// Flushed blocks: |y - x| = |x| <= a < 2^-118.
import { blockCount, checkArrayLength, checkBlockLayout } from './blocks.js';
import { bitsOf, effectiveExponent, F32_MANTISSA, F32_QUIET_NAN, F32_SIGN, flushBits, isNonFiniteBits, significand } from './f32-fields.js';
import { bitsToF32, f32ToBits } from './half.js';
import { addInto, firstNaN } from './lanes.js';

export const INT8_LEVELS = 127;
/** What a poisoned block's elements decode to (F32_QUIET_NAN as a number). */
const QUIET_NAN = bitsToF32(F32_QUIET_NAN);
/** fl(1/127): the scale is absmax times this. */
export const INT8_INVERSE_LEVELS = Math.fround(1 / INT8_LEVELS);
/** Bits of 2^-118: blocks whose absmax is below it are flushed (scale 0). */
export const INT8_MIN_ABSMAX_BITS = (127 - 118) << 23;
/** Packed bytes are 4 to a word, so blocks hold whole words. */
export const INT8_BLOCK_MULTIPLE = 4;

export interface Int8Blocks {
  /** ceil(count / 4) words, 4 signed bytes each. */
  readonly packed: Uint32Array;
  /** One f32 scale per block. */
  readonly scales: Float32Array;
}

export function int8PackedWords(count: number): number {
  return Math.ceil(count / 4);
}

/** The scale's bit pattern for a block whose absmax has bits `absmaxBits` (sign cleared). */
export function int8ScaleBits(absmaxBits: number): number {
  if (isNonFiniteBits(absmaxBits)) return F32_QUIET_NAN;
  if (absmaxBits < INT8_MIN_ABSMAX_BITS) return 0;
  return f32ToBits(bitsToF32(absmaxBits) * INT8_INVERSE_LEVELS);
}

export function int8Quantize(
  x: Float32Array, count: number, blockSize: number, out?: Int8Blocks,
): Int8Blocks {
  checkBlockLayout('int8 quantize', count, blockSize, INT8_BLOCK_MULTIPLE);
  out ??= { packed: new Uint32Array(int8PackedWords(count)), scales: new Float32Array(blockCount(count, blockSize)) };
  checkArrayLength('int8 quantize: x', x, count);
  checkArrayLength('int8 quantize: packed', out.packed, int8PackedWords(count));
  checkArrayLength('int8 quantize: scales', out.scales, blockCount(count, blockSize));
  const bits = bitsOf(x);
  const scaleBits = bitsOf(out.scales);
  const packed = out.packed;
  packed.fill(0, 0, int8PackedWords(count));
  for (let block = 0; block * blockSize < count; block++) {
    const start = block * blockSize;
    const end = Math.min(count, start + blockSize);
    let absmaxBits = 0;
    for (let i = start; i < end; i++) {
      const magnitude = bits[i]! & ~F32_SIGN;
      if (magnitude > absmaxBits) absmaxBits = magnitude;
    }
    scaleBits[block] = int8ScaleBits(absmaxBits);
    if (scaleBits[block] === 0 || scaleBits[block] === F32_QUIET_NAN) continue; // bytes stay 0
    // A word at a time (blocks hold whole words): element i is byte i % 4 of word i / 4.
    for (let i = start; i < end; i += 4) {
      let word = 0;
      for (let lane = 0; lane < 4 && i + lane < end; lane++) word |= (int8QuantizeElement(bits[i + lane]!, absmaxBits) & 0xff) << (8 * lane);
      packed[i >>> 2] = word >>> 0;
    }
  }
  return out;
}

export function int8Dequantize(
  packed: Uint32Array, scales: Float32Array, count: number, blockSize: number, out?: Float32Array,
): Float32Array {
  out ??= new Float32Array(count);
  dequantizeInto('int8 dequantize', packed, scales, count, blockSize, out, 'store');
  return out;
}

/**
 * acc[i] = fl(acc[i] + y_i), y_i the dequantized value: decode + accumulate in one pass (a ring
 * hop's fold), bit for bit what int8Dequantize into a temporary then an f32 sum gives: y_i is
 * rounded to f32 before the add (two roundings, as the GPU's fused kernel keeps them).
 */
export function int8DequantizeAccumulate(packed: Uint32Array, scales: Float32Array, count: number, blockSize: number, acc: Float32Array): void {
  dequantizeInto('int8 dequantize-accumulate', packed, scales, count, blockSize, acc, 'add');
}

/** Dequantizes into `out`, storing each value or adding it to (subtracting it from) what is there. */
function dequantizeInto(what: string, packed: Uint32Array, scales: Float32Array, count: number, blockSize: number, out: Float32Array, mode: 'store' | 'add' | 'subtract'): void {
  checkBlockLayout(what, count, blockSize, INT8_BLOCK_MULTIPLE);
  checkArrayLength(`${what}: packed`, packed, int8PackedWords(count));
  checkArrayLength(`${what}: scales`, scales, blockCount(count, blockSize));
  checkArrayLength(`${what}: ${mode === 'store' ? 'out' : 'acc'}`, out, count);
  const scaleBits = bitsOf(scales);
  const outBits = bitsOf(out);
  const sign = mode === 'subtract' ? -1 : 1;
  for (let i = 0; i < count; i++) {
    const block = Math.floor(i / blockSize);
    const q = (packed[i >>> 2]! << (24 - 8 * (i & 3))) >> 24; // sign-extend byte i % 4
    const scale = flushBits(scaleBits[block]!);
    if (mode === 'store') {
      if (isNonFiniteBits(scale)) outBits[i] = F32_QUIET_NAN;
      else out[i] = q * bitsToF32(scale); // the store rounds the exact double product once
    } else {
      // A poisoned block's feedback residual is reset (header: feedback).
      if (mode === 'subtract' && isNonFiniteBits(scale)) {
        out[i] = 0;
        continue;
      }
      // The value rounded to f32 first, then one f32 add (of its negation: exact) per element;
      // NaN by the rule of reduction.ts, out's before the value's.
      const value = isNonFiniteBits(scale) ? QUIET_NAN : Math.fround(q * bitsToF32(scale));
      const r = out[i]! + sign * value;
      out[i] = r === r ? r : firstNaN(out[i]!, value);
    }
  }
}

/**
 * Error feedback (the 'keyed' scheme of lib/memory/codecs/int8.ts): quantizes v = fl(x +
 * residual) and leaves residual = v − y, y the dequantized value sent (0 in a poisoned block:
 * header, feedback). That difference is exact
 * (y is within a/254 + 3·2^-24·a of v and, when q ≠ 0, at least about a/127: the two are within
 * a factor of two of each other, or y = 0), so residual + y = v: nothing is lost, only carried
 * to the next call (an f32 rounding of x + residual aside). Zero residuals give plain int8.
 */
export function int8QuantizeWithFeedback(x: Float32Array, residual: Float32Array, count: number, blockSize: number, out?: Int8Blocks): Int8Blocks {
  checkArrayLength('int8 error feedback: x', x, count);
  checkArrayLength('int8 error feedback: residual', residual, count);
  addInto(residual.subarray(0, count), x.subarray(0, count)); // v, by the reduce kernel's sum (NaN rule included)
  const blocks = int8Quantize(residual, count, blockSize, out);
  dequantizeInto('int8 error feedback', blocks.packed, blocks.scales, count, blockSize, residual, 'subtract');
  return blocks;
}

/**
 * roundHalfEven(127 * |x| / a) with the sign of x, for |x| <= a and a normal, a >= 2^-118.
 * With x = mx * 2^(ex - 150) and a = ma * 2^(ea - 150), 127|x|/a = 127 mx / (ma * 2^(ea - ex)):
 * a quotient of integers below 2^31 and 2^32 (ea - ex > 8 gives a value below 1/2).
 */
/** 2^gap for the exponent gaps whose quotient can round to a nonzero byte (0 .. 8). */
const POW2 = Float64Array.from({ length: 9 }, (_, gap) => 2 ** gap);

export function int8QuantizeElement(bits: number, absmaxBits: number): number {
  const gap = ((absmaxBits >>> 23) & 0xff) - effectiveExponent(bits);
  if (gap > 8) return 0;
  const numerator = INT8_LEVELS * significand(bits);
  // A table, not 2 ** gap: this runs once per element of every int8 encoding on the host.
  const denominator = ((absmaxBits & F32_MANTISSA) | 0x800000) * POW2[gap]!;
  const quotient = Math.floor(numerator / denominator); // exact: the true quotient is at most 127
  const remainder = numerator - quotient * denominator;
  const roundUp = remainder > denominator - remainder || (remainder === denominator - remainder && (quotient & 1) === 1);
  const magnitude = roundUp ? quotient + 1 : quotient;
  return (bits & F32_SIGN) !== 0 ? -magnitude : magnitude;
}
