// The block index floor(n / d) of element n in the quantization kernels without a division
// (shaders/quantize-common.wgsl, divide_by_block): the host picks (magic, shift) for the block
// size d once per call, the shader multiplies. After Granlund and Montgomery, "Division by
// Invariant Integers using Multiplication" (PLDI 1994), Theorem 4.2 with N = 30:
//   l = ceil(log2 d), magic = ceil(2^(30+l) / d), so magic d = 2^(30+l) + e with 0 <= e < d.
//   For 0 <= n < 2^30: n magic / 2^(30+l) = n/d + n e / (d 2^(30+l)), and the second term is
//   below 2^30 d / (d 2^(30+l)) <= 1/d, while n/d sits at most (d-1)/d above floor(n/d);
//   so floor(n magic / 2^(30+l)) = floor(n/d).
// magic < 2^31 (from 2^(l-1) < d), and the shader takes the high word of (4n) magic (4n < 2^32)
// then shifts by l: floor(floor(4n magic / 2^32) / 2^l) = floor(n magic / 2^(30+l)).
// Pieces keep n below 2^30 (BLOCK_DIVISOR_BINDING_BYTES).
import { internalError } from '../errors.js';

/** Elements below 2^30: no piece binds more than 2^32 bytes of f32 elements. */
export const BLOCK_DIVISOR_BINDING_BYTES = 2 ** 32;

/** [magic, shift] for divide_by_block with block size `blockSize` (an integer >= 1). */
export function blockDivisor(blockSize: number): [number, number] {
  if (!Number.isInteger(blockSize) || blockSize < 1) throw internalError(`block divisor: block size ${blockSize} is not a positive integer`);
  // Every n < 2^30 lies in block 0 of a larger block size, as it does for d = 2^30.
  const d = Math.min(blockSize, 2 ** 30);
  let shift = 0;
  while (2 ** shift < d) shift++;
  const big = BigInt(d);
  const magic = Number(((1n << BigInt(30 + shift)) + big - 1n) / big);
  if (magic >= 2 ** 31) throw internalError(`block divisor: magic ${magic} for block size ${d} needs more than 31 bits`);
  return [magic, shift];
}
