// The native addon's SIMD reduction as a CpuReducer: bit-identical to lib/cpu/reduce.ts
// (test/native-reduce.test.ts), installed by the Node entry when the addon loads.
import type { NativeAddon } from '../native/addon.js';
import { nativeFinishAverage, nativeReduceAccumulate } from '../native/reduce.js';
import type { CpuReducer } from './cpu-reducer.js';

export function nativeCpuReducer(addon: NativeAddon): CpuReducer {
  return {
    name: `native(${addon.reduceVariant})`,
    accumulate: (dtype, op, dst, src) => nativeReduceAccumulate(addon, dtype, op, dst, src),
    finishAverage: (dtype, dst, src, _count, divisor) => nativeFinishAverage(addon, dtype, dst, src, divisor),
  };
}
