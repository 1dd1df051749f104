// Block layout shared by the quantization codecs (SwitchML, block int8, 1-bit sign): `count`
// elements are cut into consecutive blocks of `blockSize`; the last block holds what is left
// (a ragged block, shorter than the others). Every per-block quantity (exponent, scale) is
// indexed by block number. The GPU wrappers validate with the same functions, so both layers
// accept and reject exactly the same arguments.
import { invalidArgument } from '../errors.js';

/** Large enough for any tensor a block-wise codec is used on; keeps 1/length exact to compute. */
export const MAX_BLOCK_SIZE = 1 << 24;

/** Largest element count a codec accepts (u32 indices on the GPU). */
export const MAX_CODEC_COUNT = 2 ** 31 - 1;

export function checkCount(what: string, count: number): void {
  if (!Number.isInteger(count) || count < 0 || count > MAX_CODEC_COUNT) {
    throw invalidArgument(`${what}: count ${count} is not an integer in [0, ${MAX_CODEC_COUNT}]`);
  }
}

/** Block sizes are positive integers, multiples of `multipleOf` (what the packed format needs). */
export function checkBlockSize(what: string, blockSize: number, multipleOf = 1): void {
  if (!Number.isInteger(blockSize) || blockSize < multipleOf || blockSize > MAX_BLOCK_SIZE || blockSize % multipleOf !== 0) {
    const rule = multipleOf > 1 ? `a multiple of ${multipleOf} in [${multipleOf}, ${MAX_BLOCK_SIZE}]` : `an integer in [1, ${MAX_BLOCK_SIZE}]`;
    throw invalidArgument(`${what}: block size ${blockSize} is not ${rule}`);
  }
}

/** A codec call's count and block size (what every codec checks first). */
export function checkBlockLayout(what: string, count: number, blockSize: number, multipleOf = 1): void {
  checkCount(what, count);
  checkBlockSize(what, blockSize, multipleOf);
}

export function blockCount(count: number, blockSize: number): number {
  return Math.ceil(count / blockSize);
}

/** Elements in block `block` (blockSize for all but a ragged last block). */
export function blockLength(count: number, blockSize: number, block: number): number {
  return Math.min(blockSize, count - block * blockSize);
}

/** Length of the last block (0 when count is 0). */
export function lastBlockLength(count: number, blockSize: number): number {
  return count === 0 ? 0 : blockLength(count, blockSize, blockCount(count, blockSize) - 1);
}

/** Checks that a caller's array holds at least `needed` elements. */
export function checkArrayLength(what: string, array: ArrayLike<number>, needed: number): void {
  if (array.length < needed) throw invalidArgument(`${what}: needs ${needed} elements but holds ${array.length}`);
}
