// The native addon's SIMD reduction as a CpuReducer: bit-identical to lib/cpu/reduce.ts
// (test/native-reduce.test.ts) and, for the 16-bit codec, to lib/cpu/cast.ts
// (test/native-half-fold.test.ts), and for the block int8 and 1-bit codecs to lib/cpu/int8.ts and
// onebit.ts (test/native-block-codecs.test.ts), installed by the Node entry when the addon loads.
// An addon built before its codec loops keeps the TypeScript ones for those.
import type { NativeAddon } from '../native/addon.js';
import { nativeBlockKernels } from '../native/block-codecs.js';
import { nativeHalfFold } from '../native/half-fold.js';
import { nativeFinishAverage, nativeReduceAccumulate } from '../native/reduce.js';
import { TYPESCRIPT_BLOCK_KERNELS } from './block-kernels.js';
import { narrowBits, widenAccumulate, widenBits } from './cast.js';
import type { CpuReducer } from './cpu-reducer.js';

export function nativeCpuReducer(addon: NativeAddon): CpuReducer {
  const half = nativeHalfFold(addon);
  return {
    name: `native(${addon.reduceVariant})`,
    accumulate: (dtype, op, dst, src) => nativeReduceAccumulate(addon, dtype, op, dst, src),
    finishAverage: (dtype, dst, src, _count, divisor) => nativeFinishAverage(addon, dtype, dst, src, divisor),
    widenAccumulate: half ? half.widenAccumulate : widenAccumulate,
    narrow: half ? half.narrow : narrowBits,
    widen: half ? half.widen : widenBits,
    blocks: nativeBlockKernels(addon, TYPESCRIPT_BLOCK_KERNELS),
    codecLoops: half && addon.int8Quantize && addon.int8Dequantize && addon.onebitCompress && addon.onebitDecompress ? 'native' : 'typescript',
  };
}
