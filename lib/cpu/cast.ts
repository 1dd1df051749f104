// Casts between f32 and the 16-bit float types (float16, bfloat16 as raw bits), RNE when
// narrowing, exact when widening; see half.ts for the rounding rules. The loops here are also
// what the CPU reduction uses to widen 16-bit inputs to f32 lanes and round results back.
import { invalidArgument } from '../errors.js';
import { firstNaN } from './lanes.js';
import { checkCount } from './reduction.js';
import { bf16BitsToF32Bits, bitsToF32, f16ToF32BitsTable, f32BitsToBf16Bits, f32BitsToF16Bits } from './half.js';
import { checkViewLength, readElements, writeBackElements } from './views.js';

export type HalfType = 'float16' | 'bfloat16';

export function isHalfType(value: unknown): value is HalfType {
  return value === 'float16' || value === 'bfloat16';
}

/** dst[i] = round(f32 with bits src[i]) for i < dst.length. */
export function narrowBits(to: HalfType, dst: Uint16Array, src: Uint32Array): void {
  if (to === 'float16') {
    for (let i = 0; i < dst.length; i++) dst[i] = f32BitsToF16Bits(src[i]!);
  } else {
    for (let i = 0; i < dst.length; i++) dst[i] = f32BitsToBf16Bits(src[i]!);
  }
}

/** dst[i] = f32 bits of the 16-bit value src[i] for i < dst.length. */
export function widenBits(from: HalfType, dst: Uint32Array, src: Uint16Array): void {
  if (from === 'float16') {
    const table = f16ToF32BitsTable();
    for (let i = 0; i < dst.length; i++) dst[i] = table[src[i]!]!;
  } else {
    for (let i = 0; i < dst.length; i++) dst[i] = bf16BitsToF32Bits(src[i]!);
  }
}

/**
 * acc[i] = fl(acc[i] + the 16-bit value src[i]) for i < acc.length: widenBits then an f32 sum, in
 * one pass, NaN by the rule of reduction.ts (acc's NaN before src's, quieted; firstNaN).
 */
export function widenAccumulate(from: HalfType, acc: Float32Array, src: Uint16Array): void {
  // The widened value is read again only for a NaN sum: kept in a variable, V8 ran the bf16
  // loop 40% slower.
  if (from === 'float16') {
    const table = f16ToF32BitsTable();
    for (let i = 0; i < acc.length; i++) {
      const r = acc[i]! + bitsToF32(table[src[i]!]!);
      acc[i] = r === r ? r : firstNaN(acc[i]!, bitsToF32(table[src[i]!]!));
    }
  } else {
    for (let i = 0; i < acc.length; i++) {
      const r = acc[i]! + bitsToF32(bf16BitsToF32Bits(src[i]!));
      acc[i] = r === r ? r : firstNaN(acc[i]!, bitsToF32(bf16BitsToF32Bits(src[i]!)));
    }
  }
}

/** `count` f32 values from `src` rounded to `to`, written to `dst` (2 bytes each). */
export function castFromFloat32(dst: ArrayBufferView, src: ArrayBufferView, count: number, to: HalfType): void {
  checkCast('castFromFloat32', to, count, { dst, dstBytes: 2, src, srcBytes: 4 });
  const out = readElements('float16', dst, count) as Uint16Array;
  narrowBits(to, out, readElements('uint32', src, count) as Uint32Array);
  writeBackElements(dst, out);
}

/** `count` 16-bit values of type `from` in `src` widened to f32 in `dst` (4 bytes each). */
export function castToFloat32(dst: ArrayBufferView, src: ArrayBufferView, count: number, from: HalfType): void {
  checkCast('castToFloat32', from, count, { dst, dstBytes: 4, src, srcBytes: 2 });
  const out = readElements('uint32', dst, count) as Uint32Array;
  widenBits(from, out, readElements('float16', src, count) as Uint16Array);
  writeBackElements(dst, out);
}

/** The views of a cast and their element sizes in bytes; src is checked before dst. */
interface CastViews {
  readonly dst: ArrayBufferView;
  readonly dstBytes: 2 | 4;
  readonly src: ArrayBufferView;
  readonly srcBytes: 2 | 4;
}

function checkCast(what: string, type: HalfType, count: number, views: CastViews): void {
  if (!isHalfType(type)) throw invalidArgument(`${what}: unknown 16-bit type ${String(type)} (expected float16 or bfloat16)`);
  checkCount(what, count);
  checkViewLength(`${what} src`, views.src, count * views.srcBytes);
  checkViewLength(`${what} dst`, views.dst, count * views.dstBytes);
}
