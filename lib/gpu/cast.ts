// Casts on the GPU between f32 and float16/bfloat16 packed two per u32 word (RNE when
// narrowing, exact when widening), bit-identical to lib/cpu/cast.ts. `encode*` records into a
// caller's encoder; `gpu*` submits and awaits. Offsets are byte offsets, multiples of 4; the
// 16-bit side occupies ceil(count/2) words and an odd count leaves the last word's upper half
// untouched. src and dst may share a buffer if they do not overlap.
import { invalidArgument } from '../errors.js';
import { isHalfType, type HalfType } from '../cpu/cast.js';
import { checkCount } from '../cpu/reduction.js';
import { bindWithDst, sharedSpanBytes } from './bind-with-dst.js';
import type { GpuContext, KernelVariant } from './context.js';
import { checkWorkgroupSize, type KernelOptions } from './options.js';
import { splitIntoPieces } from './pieces.js';
import { placeholderBinding } from './placeholder.js';
import { checkRegion, type GpuRegion } from './region.js';
import halfSource from '../../shaders/half.wgsl';
import castSource from '../../shaders/cast.wgsl';

const SOURCE = `${halfSource}\n${castSource}`;

type Direction = 'narrow' | 'widen';

/** Packed words per thread: a thread per word is what lavapipe runs slowest (cost per invocation). */
const WORDS_PER_THREAD = 4;

export function encodeCastFromFloat32(
  ctx: GpuContext, encoder: GPUCommandEncoder, dst: GpuRegion, src: GpuRegion, count: number, to: HalfType, options: KernelOptions = {},
): void {
  prepare(ctx, 'narrow', dst, src, count, to, options)(encoder);
}

export function encodeCastToFloat32(
  ctx: GpuContext, encoder: GPUCommandEncoder, dst: GpuRegion, src: GpuRegion, count: number, from: HalfType, options: KernelOptions = {},
): void {
  prepare(ctx, 'widen', dst, src, count, from, options)(encoder);
}

export async function gpuCastFromFloat32(
  ctx: GpuContext, dst: GpuRegion, src: GpuRegion, count: number, to: HalfType, options: KernelOptions = {},
): Promise<void> {
  await ctx.run(prepare(ctx, 'narrow', dst, src, count, to, options));
}

export async function gpuCastToFloat32(
  ctx: GpuContext, dst: GpuRegion, src: GpuRegion, count: number, from: HalfType, options: KernelOptions = {},
): Promise<void> {
  await ctx.run(prepare(ctx, 'widen', dst, src, count, from, options));
}

function prepare(
  ctx: GpuContext, direction: Direction, dst: GpuRegion, src: GpuRegion, count: number, half: HalfType, options: KernelOptions,
): (encoder: GPUCommandEncoder) => void {
  const what = direction === 'narrow' ? 'castFromFloat32' : 'castToFloat32';
  if (!isHalfType(half)) throw invalidArgument(`${what}: unknown 16-bit type ${String(half)} (expected float16 or bfloat16)`);
  checkCount(what, count);
  const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize);
  // Work in packed words: each holds two elements, 4 bytes on the 16-bit side and up to 8 bytes
  // on the f32 side (4 for the lone element of an odd count).
  const words = Math.ceil(count / 2);
  const halfBytes = (packedWords: number) => packedWords * 4;
  const floatBytes = (elements: number) => elements * 4;
  const narrowing = direction === 'narrow';
  checkRegion(`${what} dst`, dst, narrowing ? halfBytes(words) : floatBytes(count));
  checkRegion(`${what} src`, src, narrowing ? floatBytes(count) : halfBytes(words));
  const pieces = splitIntoPieces(ctx, what, words, {
    maxBytesPerUnit: 8, extraSpanBytes: sharedSpanBytes(dst, [src], words * 4),
    ...(options.maxBindingBytes !== undefined && { maxBindingBytes: options.maxBindingBytes }),
  });
  const variant: KernelVariant = {
    source: SOURCE, entryPoint: direction, workgroupSize, unitsPerThread: WORDS_PER_THREAD,
    prelude: [`const HALF = ${half === 'float16' ? 'HALF_F16' : 'HALF_BF16'};`],
  };
  return (encoder) => {
    for (const piece of pieces) {
      const elements = Math.min(2 * piece.count, count - 2 * piece.start);
      const halfSlice = (r: GpuRegion) => ({ region: r, skip: halfBytes(piece.start), bytes: halfBytes(piece.count) });
      const floatSlice = (r: GpuRegion) => ({ region: r, skip: floatBytes(2 * piece.start), bytes: floatBytes(elements) });
      const bound = narrowing ? bindWithDst(ctx, halfSlice(dst), [floatSlice(src)]) : bindWithDst(ctx, floatSlice(dst), [halfSlice(src)]);
      const input = bound.inputs[0]!;
      const params = new Uint32Array([elements, bound.dst.wordOffset, input.wordOffset, input.resource ? 0 : 1]);
      ctx.dispatch(encoder, variant, params, [bound.dst.resource, input.resource ?? placeholderBinding(ctx.device)], piece.count);
    }
  };
}
