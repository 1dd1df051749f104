// Bit packing on the GPU: u32 values of 1, 2, 4, 8 or 16 bits packed into u32 words and back,
// with the layout of lib/cpu/bitpack.ts (bit-identical). `encode*` records into a caller's
// encoder; `gpu*` submits and awaits. Offsets are byte offsets, multiples of 4; src and dst may
// share a buffer if they do not overlap.
import { checkLaneBits, packedWords, type LaneBits } from '../cpu/bitpack.js';
import { checkCount } from '../cpu/reduction.js';
import { bindWithDst, sharedSpanBytes } from './bind-with-dst.js';
import type { GpuContext, KernelVariant } from './context.js';
import { checkWorkgroupSize, type KernelOptions } from './options.js';
import { splitIntoPieces } from './pieces.js';
import { placeholderBinding } from './placeholder.js';
import { checkRegion, type GpuRegion } from './region.js';
import bitpackSource from '../../shaders/bitpack.wgsl';

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
  // Work in packed words: each is 4 bytes packed and up to 4 * perWord bytes unpacked.
  const perWord = 32 / bits;
  const words = packedWords(count, bits);
  const packing = direction === 'pack';
  checkRegion(`${what} dst`, dst, packing ? words * 4 : count * 4);
  checkRegion(`${what} src`, src, packing ? count * 4 : words * 4);
  const pieces = splitIntoPieces(ctx, what, words, {
    maxBytesPerUnit: 4 * perWord, extraSpanBytes: sharedSpanBytes(dst, [src], words * 4 * (perWord - 1)),
    ...(options.maxBindingBytes !== undefined && { maxBindingBytes: options.maxBindingBytes }),
  });
  const variant: KernelVariant = {
    source: bitpackSource, entryPoint: direction, workgroupSize, prelude: [`const LANE_BITS = ${bits}u;`],
    // Packed words per thread: enough that each thread moves 16 values or more.
    unitsPerThread: Math.max(1, 16 / perWord),
  };
  return (encoder) => {
    for (const piece of pieces) {
      const values = Math.min(piece.count * perWord, count - piece.start * perWord);
      const packedSlice = (r: GpuRegion) => ({ region: r, skip: piece.start * 4, bytes: piece.count * 4 });
      const valueSlice = (r: GpuRegion) => ({ region: r, skip: piece.start * perWord * 4, bytes: values * 4 });
      const bound = packing ? bindWithDst(ctx, packedSlice(dst), [valueSlice(src)]) : bindWithDst(ctx, valueSlice(dst), [packedSlice(src)]);
      const input = bound.inputs[0]!;
      const params = new Uint32Array([values, bound.dst.wordOffset, input.wordOffset, input.resource ? 0 : 1]);
      const storage = [bound.dst.resource, input.resource ?? placeholderBinding(ctx.device)];
      ctx.dispatch(encoder, variant, params, storage, piece.count);
    }
  };
}
