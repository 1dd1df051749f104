// Bit packing on the GPU: u32 values of 1, 2, 4, 8 or 16 bits packed into u32 words and back,
// with the layout of lib/cpu/bitpack.ts (bit-identical). `encode*` records into a caller's
// encoder; `gpu*` submits and awaits. Offsets are byte offsets, multiples of 4; src and dst may
// share a buffer if they do not overlap.
import { checkLaneBits, type LaneBits } from '../cpu/bitpack.js';
import { checkCount } from '../cpu/reduction.js';
import type { GpuContext, KernelVariant } from './context.js';
import { checkWorkgroupSize, type KernelOptions } from './options.js';
import { preparePackedTransform } from './packed-transform.js';
import type { GpuRegion } from './region.js';
import packedIoSource from '../../shaders/packed-io.wgsl';
import bitpackSource from '../../shaders/bitpack.wgsl';

const SOURCE = `${packedIoSource}\n${bitpackSource}`;

type Direction = 'pack' | 'unpack';

export function encodePackBits(
  ctx: GpuContext, encoder: GPUCommandEncoder, dst: GpuRegion, src: GpuRegion, count: number, bits: LaneBits, options: KernelOptions = {},
): void {
  prepare(ctx, 'pack', dst, src, count, bits, options)(encoder);
}

export function encodeUnpackBits(
  ctx: GpuContext, encoder: GPUCommandEncoder, dst: GpuRegion, src: GpuRegion, count: number, bits: LaneBits, options: KernelOptions = {},
): void {
  prepare(ctx, 'unpack', dst, src, count, bits, options)(encoder);
}

export async function gpuPackBits(
  ctx: GpuContext, dst: GpuRegion, src: GpuRegion, count: number, bits: LaneBits, options: KernelOptions = {},
): Promise<void> {
  await ctx.run(prepare(ctx, 'pack', dst, src, count, bits, options));
}

export async function gpuUnpackBits(
  ctx: GpuContext, dst: GpuRegion, src: GpuRegion, count: number, bits: LaneBits, options: KernelOptions = {},
): Promise<void> {
  await ctx.run(prepare(ctx, 'unpack', dst, src, count, bits, options));
}

function prepare(
  ctx: GpuContext, direction: Direction, dst: GpuRegion, src: GpuRegion, count: number, bits: LaneBits, options: KernelOptions,
): (encoder: GPUCommandEncoder) => void {
  const what = direction === 'pack' ? 'packBits' : 'unpackBits';
  checkLaneBits(what, bits);
  checkCount(what, count);
  const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize);
  const perWord = 32 / bits;
  const variant: KernelVariant = {
    source: SOURCE, entryPoint: direction, workgroupSize, prelude: [`const LANE_BITS = ${bits}u;`],
    // Packed words per thread: enough that each thread moves 16 values or more.
    unitsPerThread: Math.max(1, 16 / perWord),
  };
  return preparePackedTransform(ctx, {
    what, variant, direction, dst, src, count, valuesPerWord: perWord, maxBindingBytes: options.maxBindingBytes,
  });
}
