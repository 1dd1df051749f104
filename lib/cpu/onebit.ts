// 1-bit sign compression with a per-block scale and error feedback (after Seide et al.,
// "1-Bit Stochastic Gradient Descent", 2014, and Karimireddy et al., "Error Feedback Fixes
// SignSGD", 2019). Compressing adds the carried residual to the input, keeps only the signs
// and one magnitude per block, and carries what was lost to the next step:
//   v = x + residual;  sent = decompress(compress(v));  residual' = v - sent.
// So Σ_t sent_t = Σ_t x_t - residual_T (up to f32 rounding): nothing is lost, only delayed.
//
// Format (blockSize a multiple of 32; the last block may be shorter):
//   v_i       flush(fl(flush(x_i) + flush(r_i))), where flush turns subnormals (and -0) into +0,
//             on inputs and results, so GPUs that flush subnormals compute the same thing.
//   scale_b   f32 per block: flush(fl(sum_b * fl(1 / len_b))), the mean of |v| over the block's
//             len_b elements, where sum_b is added in this fixed order (documented because f32
//             addition is not associative, and the GPU reproduces it exactly):
//               1. 64 lanes (ONEBIT_SUM_LANES): lane l adds |v_j| for j = l, l + 64, l + 128, ...
//                  (block-relative j, increasing), starting from +0;
//               2. a halving tree: for s = 32, 16, ..., 1: lane[l] = lane[l] + lane[l + s], l < s;
//               sum_b = lane[0]. Every addition is one f32 addition rounded to nearest even.
//   sign      1 bit per element, 1 iff v_i < 0: zeros (v is never -0 after flushing) send +scale.
//             Element i is bit (i % 32) of word floor(i / 32), so each block starts a new word
//             and a ragged last word is padded with 0 bits.
//   residual  r_i' = flush(fl(v_i - (sign ? -scale : scale))), written over the residual.
//   decompress  y_i = sign ? -scale_b : scale_b (the sign bit of scale_b flipped: exact).
// A block whose x or residual holds NaN or ±Inf is poisoned: scale NaN (0x7fc00000), sign words
// 0, residual reset to 0 (int8's feedback does the same, lib/cpu/int8.ts), so a caller that
// skips the step (as a dynamic loss scaler does) starts the next one from a clean residual, even
// when the residual itself held the NaN; a poisoned block decodes to 0x7fc00000, which
// decompress-accumulate adds by the NaN rule of reduction.ts (acc's NaN first). Inputs must
// keep Σ|v| within the f32 range (WGSL does not define overflowing arithmetic).
//
// Bounds: |r_i'| = ||v_i| - scale| <= max_j |v_j| of its block. With error feedback the residual
// stays bounded: the sign compressor with mean scale satisfies ||v - C(v)||² = ||v||² - ||v||₁²/len
// <= (1 - 1/len) ||v||², so per block ||r_t|| <= ρ (||x_t|| + ||r_{t-1}||) with ρ = sqrt(1 - 1/len),
// hence ||r_t|| <= ρ / (1 - ρ) * max_t ||x_t|| (plus f32 rounding).
import { blockCount, blockLength, checkArrayLength, checkBlockLayout } from './blocks.js';
import { bitsOf, F32_QUIET_NAN, flushBits, flushToZero, isNonFiniteBits } from './f32-fields.js';
import { bitsToF32 } from './half.js';
import { firstNaN } from './lanes.js';

/** Lanes of the fixed summation order (the GPU kernel's workgroup size). */
export const ONEBIT_SUM_LANES = 64;
/** Signs are 32 to a word and blocks hold whole words. */
export const ONEBIT_BLOCK_MULTIPLE = 32;

export interface OnebitBlocks {
  /** ceil(count / 32) words of sign bits. */
  readonly signs: Uint32Array;
  /** One f32 scale per block. */
  readonly scales: Float32Array;
}

export function onebitSignWords(count: number): number {
  return Math.ceil(count / 32);
}

/** fl(1 / len): the mean is the sum times this (the GPU gets the same f32). */
export function onebitInverseLength(length: number): number {
  return Math.fround(1 / length);
}

/** Compresses x + residual into signs and scales, and overwrites residual with what was lost. */
export function onebitCompress(
  x: Float32Array, residual: Float32Array, count: number, blockSize: number, out?: OnebitBlocks,
): OnebitBlocks {
  checkBlockLayout('onebit compress', count, blockSize, ONEBIT_BLOCK_MULTIPLE);
  out ??= { signs: new Uint32Array(onebitSignWords(count)), scales: new Float32Array(blockCount(count, blockSize)) };
  checkArrayLength('onebit compress: x', x, count);
  checkArrayLength('onebit compress: residual', residual, count);
  checkArrayLength('onebit compress: signs', out.signs, onebitSignWords(count));
  checkArrayLength('onebit compress: scales', out.scales, blockCount(count, blockSize));
  const xBits = bitsOf(x);
  const rBits = bitsOf(residual);
  const scaleBits = bitsOf(out.scales);
  const v = new Float32Array(Math.min(blockSize, count));
  const lanes = new Float32Array(ONEBIT_SUM_LANES);
  out.signs.fill(0, 0, onebitSignWords(count));
  for (let block = 0; block * blockSize < count; block++) {
    const start = block * blockSize;
    const length = blockLength(count, blockSize, block);
    let poisoned = false;
    lanes.fill(0);
    for (let j = 0; j < length; j++) {
      const xb = xBits[start + j]!;
      const rb = rBits[start + j]!;
      poisoned ||= isNonFiniteBits(xb) || isNonFiniteBits(rb);
      v[j] = flushToZero(Math.fround(bitsToF32(flushBits(xb)) + bitsToF32(flushBits(rb))));
      const lane = j % ONEBIT_SUM_LANES;
      lanes[lane] = lanes[lane]! + Math.abs(v[j]!); // the Float32Array store rounds to f32
    }
    if (poisoned) {
      scaleBits[block] = F32_QUIET_NAN;
      residual.fill(0, start, start + length); // the feedback rule (header)
      continue;
    }
    for (let s = ONEBIT_SUM_LANES / 2; s >= 1; s /= 2) {
      for (let l = 0; l < s; l++) lanes[l] = lanes[l]! + lanes[l + s]!;
    }
    const scale = flushToZero(Math.fround(lanes[0]! * onebitInverseLength(length)));
    out.scales[block] = scale;
    for (let j = 0; j < length; j++) {
      const i = start + j;
      const negative = v[j]! < 0;
      if (negative) out.signs[i >>> 5] = (out.signs[i >>> 5]! | (1 << (i & 31))) >>> 0;
      residual[i] = flushToZero(Math.fround(v[j]! - (negative ? -scale : scale)));
    }
  }
  return out;
}

/** y_i = ±scale of its block, by its sign bit. */
export function onebitDecompress(
  signs: Uint32Array, scales: Float32Array, count: number, blockSize: number, out?: Float32Array,
): Float32Array {
  out ??= new Float32Array(count);
  decompressInto('onebit decompress', signs, scales, count, blockSize, out, false);
  return out;
}

/** acc[i] = fl(acc[i] + decoded_i) in one pass: bit for bit onebitDecompress then an f32 sum. */
export function onebitDecompressAccumulate(signs: Uint32Array, scales: Float32Array, count: number, blockSize: number, acc: Float32Array): void {
  decompressInto('onebit decompress-accumulate', signs, scales, count, blockSize, acc, true);
}

function decompressInto(what: string, signs: Uint32Array, scales: Float32Array, count: number, blockSize: number, out: Float32Array, add: boolean): void {
  checkBlockLayout(what, count, blockSize, ONEBIT_BLOCK_MULTIPLE);
  checkArrayLength(`${what}: signs`, signs, onebitSignWords(count));
  checkArrayLength(`${what}: scales`, scales, blockCount(count, blockSize));
  checkArrayLength(`${what}: ${add ? 'acc' : 'out'}`, out, count);
  const scaleBits = bitsOf(scales);
  const outBits = bitsOf(out);
  for (let i = 0; i < count; i++) {
    const sign = ((signs[i >>> 5]! >>> (i & 31)) & 1) << 31;
    const bits = (scaleBits[Math.floor(i / blockSize)]! ^ sign) >>> 0;
    if (add) {
      // NaN (a poisoned block) by the rule of reduction.ts: out's NaN before the decoded one.
      const value = bitsToF32(bits);
      const r = out[i]! + value;
      out[i] = r === r ? r : firstNaN(out[i]!, value);
    } else outBits[i] = bits;
  }
}
