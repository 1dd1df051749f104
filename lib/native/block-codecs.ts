// The addon's block int8 and 1-bit loops (native/src/block-codecs.cc) as BlockKernels: bit for
// bit lib/cpu/int8.ts and lib/cpu/onebit.ts (test/native-block-codecs.test.ts). A loop this
// build of the addon lacks (an addon built before them; int8 on a big-endian host) keeps
// `fallback`'s. The methods call the addon directly, translating its argument errors only.
import type { BlockKernels } from '../cpu/block-kernels.js';
import type { NativeAddon } from './addon.js';
import { asNativeError } from './call.js';

export function nativeBlockKernels(addon: NativeAddon, fallback: BlockKernels): BlockKernels {
  const { int8Quantize, int8Dequantize, onebitCompress, onebitDecompress } = addon;
  return {
    int8Quantize: int8Quantize
      ? (x, residual, count, blockSize, out) => {
          try {
            int8Quantize(x, residual ?? null, count, blockSize, out.packed, out.scales);
          } catch (error) {
            throw asNativeError('native block codec', error);
          }
        }
      : fallback.int8Quantize,
    int8Dequantize: int8Dequantize
      ? (packed, scales, count, blockSize, out, accumulate) => {
          try {
            int8Dequantize(packed, scales, count, blockSize, out, accumulate);
          } catch (error) {
            throw asNativeError('native block codec', error);
          }
        }
      : fallback.int8Dequantize,
    onebitCompress: onebitCompress
      ? (x, residual, count, blockSize, out) => {
          try {
            onebitCompress(x, residual, count, blockSize, out.signs, out.scales);
          } catch (error) {
            throw asNativeError('native block codec', error);
          }
        }
      : fallback.onebitCompress,
    onebitDecompress: onebitDecompress
      ? (signs, scales, count, blockSize, out, accumulate) => {
          try {
            onebitDecompress(signs, scales, count, blockSize, out, accumulate);
          } catch (error) {
            throw asNativeError('native block codec', error);
          }
        }
      : fallback.onebitDecompress,
  };
}
