// Casts on the GPU between f32 and float16/bfloat16 packed two per u32 word (RNE when
// narrowing, exact when widening), bit-identical to lib/cpu/cast.ts. `encode*` records into a
// caller's encoder; `gpu*` submits and awaits. Offsets are byte offsets, multiples of 4; the
// 16-bit side occupies ceil(count/2) words and an odd count leaves the last word's upper half
// untouched. src and dst may share a buffer if they do not overlap.
import { invalidArgument } from '../errors.js';
import { isHalfType, type HalfType } from '../cpu/cast.js';
import { checkCount } from '../cpu/reduction.js';
import type { GpuContext, KernelVariant } from './context.js';
import { checkWorkgroupSize, type KernelOptions } from './options.js';
import { preparePackedTransform } from './packed-transform.js';
import type { GpuRegion } from './region.js';
import packedIoSource from '../../shaders/packed-io.wgsl';
import halfSource from '../../shaders/half.wgsl';
import castSource from '../../shaders/cast.wgsl';

const SOURCE = `${packedIoSource}\n${halfSource}\n${castSource}`;

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
  const variant: KernelVariant = {
    source: SOURCE, entryPoint: direction, workgroupSize, unitsPerThread: WORDS_PER_THREAD,
    prelude: [`const HALF = ${half === 'float16' ? 'HALF_F16' : 'HALF_BF16'};`],
  };
  return preparePackedTransform(ctx, {
    what, variant, direction: direction === 'narrow' ? 'pack' : 'unpack', dst, src, count, valuesPerWord: 2,
    maxBindingBytes: options.maxBindingBytes,
  });
}
