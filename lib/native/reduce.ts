// The native SIMD reduction with the oracle's semantics (lib/cpu/reduce.ts), for CPU memory.
// Callers check `nativeAddon()` first; these wrappers only translate errors.
import type { DataType, SimpleOp } from '../dtype.js';
import type { NativeAddon } from './addon.js';
import { callNative } from './call.js';

/** dst[i] = dst[i] ⊕ src[i] (avg accumulates as sum), bit-identical to reduceAccumulate(dst, [src], ...). */
export function nativeReduceAccumulate(addon: NativeAddon, dtype: DataType, op: SimpleOp, dst: ArrayBufferView, src: ArrayBufferView): void {
  callNative('native reduceAccumulate', () => addon.reduceAccumulate(dtype, op, dst, src));
}

/** dst[i] = src[i] / divisor, bit-identical to finishAverage(dst, src, count, dtype, divisor). */
export function nativeFinishAverage(addon: NativeAddon, dtype: DataType, dst: ArrayBufferView, src: ArrayBufferView, divisor: number): void {
  callNative('native finishAverage', () => addon.finishAverage(dtype, dst, src, divisor));
}
