// The addon's block int8 and 1-bit loops (native/src/block-codecs.cc) as BlockKernels: bit for
// bit lib/cpu/int8.ts and lib/cpu/onebit.ts (test/native-block-codecs.test.ts). A loop this
// build of the addon lacks (an addon built before them; int8 on a big-endian host) keeps
// `fallback`'s. Each call's closure (callNative's) is nothing beside a payload's loop.
import type { BlockKernels } from '../cpu/block-kernels.js';
import type { NativeAddon } from './addon.js';
import { callNative } from './call.js';

export function nativeBlockKernels(addon: NativeAddon, fallback: BlockKernels): BlockKernels {
  const { int8Quantize, int8Dequantize, onebitCompress, onebitDecompress } = addon;
  const what = 'native block codec';
  return {
    int8Quantize: int8Quantize
      ? (x, residual, count, blockSize, out) => callNative(what, () => int8Quantize(x, residual ?? null, count, blockSize, out.packed, out.scales))
      : fallback.int8Quantize,
    int8Dequantize: int8Dequantize
      ? (packed, scales, count, blockSize, out, accumulate) => callNative(what, () => int8Dequantize(packed, scales, count, blockSize, out, accumulate))
      : fallback.int8Dequantize,
    onebitCompress: onebitCompress
      ? (x, residual, count, blockSize, out) => callNative(what, () => onebitCompress(x, residual, count, blockSize, out.signs, out.scales))
      : fallback.onebitCompress,
    onebitDecompress: onebitDecompress
      ? (signs, scales, count, blockSize, out, accumulate) => callNative(what, () => onebitDecompress(signs, scales, count, blockSize, out, accumulate))
      : fallback.onebitDecompress,
  };
}
