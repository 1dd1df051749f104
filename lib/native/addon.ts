// The shape of the native addon's exports (native/src/addon.cc), as the loader hands it out.
// Node-only: the browser entry never imports lib/native.
import type { DataType, SimpleOp } from '../dtype.js';

export interface NativeAddon {
  /** "avx2" or "baseline": which build of the reduction loops this CPU runs. */
  readonly reduceVariant: string;
  /** dst[i] = dst[i] ⊕ src[i] over equal-length byte views; avg accumulates as sum. Throws on bad input. */
  reduceAccumulate(dtype: DataType, op: SimpleOp, dst: ArrayBufferView, src: ArrayBufferView): void;
  /** dst[i] = src[i] / divisor (floats multiply by f32(1/divisor), integers truncate). */
  finishAverage(dtype: DataType, dst: ArrayBufferView, src: ArrayBufferView, divisor: number): void;
  /** A plain memmove of equal-length views: the bandwidth reference for benchmarks. */
  memcpy(dst: ArrayBufferView, src: ArrayBufferView): void;
}

/** What the loader found: the addon, or why there is none. */
export type NativeLoad = { readonly addon: NativeAddon } | { readonly unavailable: string };
