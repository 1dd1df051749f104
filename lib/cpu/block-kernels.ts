// The block codecs' host loops (lib/cpu/int8.ts and lib/cpu/onebit.ts define the formats) as one
// interface, so that a CpuReducer (lib/cpu/cpu-reducer.ts) can carry a faster implementation
// with the same bits: the native addon's (lib/native/block-codecs.ts), installed by the Node
// entry. TYPESCRIPT_BLOCK_KERNELS is the oracle and the fallback.
import { int8Dequantize, int8DequantizeAccumulate, int8Quantize, int8QuantizeWithFeedback, type Int8Blocks } from './int8.js';
import { onebitCompress, onebitDecompress, onebitDecompressAccumulate, type OnebitBlocks } from './onebit.js';

export interface BlockKernels {
  /** int8QuantizeWithFeedback with a residual, else int8Quantize, into `out`. */
  int8Quantize(x: Float32Array, residual: Float32Array | undefined, count: number, blockSize: number, out: Int8Blocks): void;
  /** int8DequantizeAccumulate into `out` when `accumulate`, else int8Dequantize. */
  int8Dequantize(packed: Uint32Array, scales: Float32Array, count: number, blockSize: number, out: Float32Array, accumulate: boolean): void;
  /** onebitCompress into `out` (the residual is always updated). */
  onebitCompress(x: Float32Array, residual: Float32Array, count: number, blockSize: number, out: OnebitBlocks): void;
  /** onebitDecompressAccumulate into `out` when `accumulate`, else onebitDecompress. */
  onebitDecompress(signs: Uint32Array, scales: Float32Array, count: number, blockSize: number, out: Float32Array, accumulate: boolean): void;
}

export const TYPESCRIPT_BLOCK_KERNELS: BlockKernels = {
  int8Quantize(x, residual, count, blockSize, out) {
    if (residual) int8QuantizeWithFeedback(x, residual, count, blockSize, out);
    else int8Quantize(x, count, blockSize, out);
  },
  int8Dequantize(packed, scales, count, blockSize, out, accumulate) {
    if (accumulate) int8DequantizeAccumulate(packed, scales, count, blockSize, out);
    else int8Dequantize(packed, scales, count, blockSize, out);
  },
  onebitCompress(x, residual, count, blockSize, out) {
    onebitCompress(x, residual, count, blockSize, out);
  },
  onebitDecompress(signs, scales, count, blockSize, out, accumulate) {
    if (accumulate) onebitDecompressAccumulate(signs, scales, count, blockSize, out);
    else onebitDecompress(signs, scales, count, blockSize, out);
  },
};
