// The addon's 16-bit host codec loops (native/src/half-fold.cc) with lib/cpu/cast.ts's
// semantics: widenAccumulate, narrowBits and widenBits bit for bit (test/native-half-fold.test.ts).
// The wrappers only translate the addon's argument errors.
import type { NativeAddon } from './addon.js';
import { asNativeError } from './call.js';

type Half = 'float16' | 'bfloat16';

export interface NativeHalfFold {
  /** acc[i] = fl(acc[i] + the 16-bit value src[i]); acc and src hold the same count. */
  widenAccumulate(from: Half, acc: Float32Array, src: Uint16Array): void;
  /** dst[i] = the f32 with bits src[i] rounded to `to`; dst and src hold the same count. */
  narrow(to: Half, dst: Uint16Array, src: Uint32Array): void;
  /** dst[i] = the f32 bits of the 16-bit value src[i]; dst and src hold the same count. */
  widen(from: Half, dst: Uint32Array, src: Uint16Array): void;
}

/** The loops, or undefined when this build of the addon predates them. */
export function nativeHalfFold(addon: NativeAddon): NativeHalfFold | undefined {
  const { halfWidenAccumulate, halfNarrow, halfWiden } = addon;
  if (!halfWidenAccumulate || !halfNarrow || !halfWiden) return undefined;
  return {
    widenAccumulate: translated('native halfWidenAccumulate', halfWidenAccumulate),
    narrow: translated('native halfNarrow', halfNarrow),
    widen: translated('native halfWiden', halfWiden),
  };
}

/**
 * `loop` with the addon's argument errors translated (asNativeError). Wrapped once here, with
 * fixed arguments: no closure per call (callNative's), since a 64 Ki-element hop is about 4 µs of
 * work.
 */
function translated<A, B, C>(what: string, loop: (a: A, b: B, c: C) => void): (a: A, b: B, c: C) => void {
  return (a, b, c) => {
    try {
      loop(a, b, c);
    } catch (error) {
      throw asNativeError(what, error);
    }
  };
}
