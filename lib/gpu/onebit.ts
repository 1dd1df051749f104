// 1-bit sign compression with error feedback on the GPU (shaders/onebit.wgsl): the format,
// summation order and bounds of lib/cpu/onebit.ts, bit for bit. The compress kernel always
// runs 64-thread workgroups (ONEBIT_SUM_LANES: the lanes of the fixed summation order), so
// options.workgroupSize applies to decompress only. `encode*` record into a caller's encoder
// (arguments are checked first: a bad call throws InvalidArgument and records nothing); `gpu*`
// submit and resolve when the GPU is done. A buffer a kernel writes must hold no other region
// of the same call (so x and residual live in different buffers).
import { f32ToBits } from '../cpu/half.js';
import { checkBlockLayout, lastBlockLength } from '../cpu/blocks.js';
import { ONEBIT_BLOCK_MULTIPLE, ONEBIT_SUM_LANES, onebitInverseLength } from '../cpu/onebit.js';
import type { GpuContext } from './context.js';
import { prepareBlockDecode } from './block-decode.js';
import { codecVariant, packedWords, planPieces, wordsPerBlock, wordsPerElement, type Recorder } from './codec.js';
import type { KernelOptions } from './options.js';
import type { GpuRegion } from './region.js';
import onebitSource from '../../shaders/onebit.wgsl';

export interface OnebitCompressArgs {
  /** count f32 inputs. */
  readonly x: GpuRegion;
  /** count f32 residuals carried from the previous step (zeros at first); overwritten with the new ones. */
  readonly residual: GpuRegion;
  /** Receives ceil(count / 32) words of sign bits. */
  readonly signs: GpuRegion;
  /** Receives one f32 scale per block. */
  readonly scales: GpuRegion;
  readonly count: number;
  /** A multiple of 32. */
  readonly blockSize: number;
}

export interface OnebitDecompressArgs {
  readonly signs: GpuRegion;
  readonly scales: GpuRegion;
  /** Receives count f32 values. */
  readonly dst: GpuRegion;
  readonly count: number;
  readonly blockSize: number;
}

export function encodeOnebitCompress(ctx: GpuContext, encoder: GPUCommandEncoder, args: OnebitCompressArgs, options: KernelOptions = {}): void {
  prepareCompress(ctx, args, options)(encoder);
}

export function encodeOnebitDecompress(ctx: GpuContext, encoder: GPUCommandEncoder, args: OnebitDecompressArgs, options: KernelOptions = {}): void {
  prepareDecompress(ctx, args, options)(encoder);
}

export async function gpuOnebitCompress(ctx: GpuContext, args: OnebitCompressArgs, options: KernelOptions = {}): Promise<void> {
  await ctx.run(prepareCompress(ctx, args, options));
}

export async function gpuOnebitDecompress(ctx: GpuContext, args: OnebitDecompressArgs, options: KernelOptions = {}): Promise<void> {
  await ctx.run(prepareDecompress(ctx, args, options));
}

function prepareCompress(ctx: GpuContext, args: OnebitCompressArgs, options: KernelOptions): Recorder {
  const what = 'onebit compress';
  checkBlockLayout(what, args.count, args.blockSize, ONEBIT_BLOCK_MULTIPLE);
  const pieces = planPieces(ctx, what, args.count, args.blockSize, [
    { name: 'x', region: args.x, writable: false, words: wordsPerElement },
    { name: 'residual', region: args.residual, writable: true, words: wordsPerElement },
    { name: 'signs', region: args.signs, writable: true, words: packedWords(32) },
    { name: 'scales', region: args.scales, writable: true, words: wordsPerBlock(args.blockSize) },
  ], options.maxBindingBytes);
  const variant = codecVariant(onebitSource, 'compress', ONEBIT_SUM_LANES, []);
  const inverseFull = f32ToBits(onebitInverseLength(args.blockSize));
  return (encoder) => {
    for (const piece of pieces) {
      // One workgroup per block; the piece's last block is ragged only in the tensor's last piece.
      const inverseLast = f32ToBits(onebitInverseLength(lastBlockLength(piece.elements, args.blockSize)));
      const params = new Uint32Array([piece.elements, args.blockSize, inverseFull, inverseLast, ...piece.wordOffsets]);
      ctx.dispatch(encoder, variant, params, piece.storage, piece.blocks * ONEBIT_SUM_LANES);
    }
  };
}

function prepareDecompress(ctx: GpuContext, args: OnebitDecompressArgs, options: KernelOptions): Recorder {
  const what = 'onebit decompress';
  checkBlockLayout(what, args.count, args.blockSize, ONEBIT_BLOCK_MULTIPLE);
  return prepareBlockDecode(ctx, {
    what, familySource: onebitSource, prelude: [], packed: { name: 'signs', region: args.signs, valuesPerWord: 32 },
    scales: args.scales, dst: args.dst, count: args.count, blockSize: args.blockSize,
  }, options);
}
