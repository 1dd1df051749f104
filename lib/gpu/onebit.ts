// 1-bit sign compression with error feedback on the GPU (shaders/onebit.wgsl): the format,
// summation order and bounds of lib/cpu/onebit.ts, bit for bit. Compress has two layouts with
// identical results (see OnebitOptions.compressLayout); options.workgroupSize applies to
// decompress and to the thread-per-block compress. `encode*` record into a caller's encoder
// (arguments are checked first: a bad call throws InvalidArgument and records nothing); `gpu*`
// submit and resolve when the GPU is done. A buffer a kernel writes must hold no other region
// of the same call (so x and residual live in different buffers).
import { f32ToBits } from '../cpu/half.js';
import { checkBlockLayout, lastBlockLength } from '../cpu/blocks.js';
import { ONEBIT_BLOCK_MULTIPLE, ONEBIT_SUM_LANES, onebitInverseLength } from '../cpu/onebit.js';
import type { GpuContext } from './context.js';
import { prepareBlockDecode } from './block-decode.js';
import { codecVariant, packedWords, planPieces, wordsPerBlock, wordsPerElement, type Recorder } from './codec.js';
import { checkWorkgroupSize, type KernelOptions } from './options.js';
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

export function encodeOnebitCompress(ctx: GpuContext, encoder: GPUCommandEncoder, args: OnebitCompressArgs, options: OnebitOptions = {}): void {
  prepareCompress(ctx, args, options)(encoder);
}

export function encodeOnebitDecompress(ctx: GpuContext, encoder: GPUCommandEncoder, args: OnebitDecompressArgs, options: KernelOptions = {}): void {
  prepareDecompress(ctx, args, options)(encoder);
}

export async function gpuOnebitCompress(ctx: GpuContext, args: OnebitCompressArgs, options: OnebitOptions = {}): Promise<void> {
  await ctx.run(prepareCompress(ctx, args, options));
}

export async function gpuOnebitDecompress(ctx: GpuContext, args: OnebitDecompressArgs, options: KernelOptions = {}): Promise<void> {
  await ctx.run(prepareDecompress(ctx, args, options));
}

/** Every variant compiles the whole family source, which sizes the per-thread lane array. */
const PRELUDE = [`const SUM_LANES = ${ONEBIT_SUM_LANES}u;`];

/**
 * How compress maps blocks to threads. Both replay the format's summation order exactly, so the
 * output is the same bit for bit; only speed differs, and it differs by device kind:
 * - 'workgroup-per-block': 64 threads per block are the 64 lanes, with barriers and a shared-
 *   memory halving tree. The classic GPU reduction: loads coalesce across a warp and the lane
 *   sums live in registers. Chosen on hardware GPUs (not measured here: none on these machines).
 * - 'thread-per-block': one thread keeps the 64 lane sums in a private array. No barriers, which
 *   a CPU implementation runs one invocation at a time: 3-5x faster on lavapipe (64 MiB, k=256,
 *   `npm run bench:kernels -- --filter onebit`). On a GPU the array's dynamic indexing spills
 *   to local memory and neighbouring threads read 4*blockSize bytes apart, hence the default.
 */
export type OnebitCompressLayout = 'workgroup-per-block' | 'thread-per-block';

export interface OnebitOptions extends KernelOptions {
  /** Default: 'thread-per-block' on software adapters (lavapipe, SwiftShader), else 'workgroup-per-block'. */
  readonly compressLayout?: OnebitCompressLayout;
}

function prepareCompress(ctx: GpuContext, args: OnebitCompressArgs, options: OnebitOptions): Recorder {
  const what = 'onebit compress';
  checkBlockLayout(what, args.count, args.blockSize, ONEBIT_BLOCK_MULTIPLE);
  const layout = options.compressLayout ?? (ctx.isSoftwareAdapter ? 'thread-per-block' : 'workgroup-per-block');
  const perThread = layout === 'thread-per-block';
  const workgroupSize = perThread ? checkWorkgroupSize(ctx, options.workgroupSize, ONEBIT_SUM_LANES) : ONEBIT_SUM_LANES;
  const pieces = planPieces(ctx, what, args.count, args.blockSize, [
    { name: 'x', region: args.x, writable: false, words: wordsPerElement },
    { name: 'residual', region: args.residual, writable: true, words: wordsPerElement },
    { name: 'signs', region: args.signs, writable: true, words: packedWords(32) },
    { name: 'scales', region: args.scales, writable: true, words: wordsPerBlock(args.blockSize) },
  ], options.maxBindingBytes);
  const entryPoint = perThread ? 'compress_per_thread' : 'compress';
  const variant = codecVariant(onebitSource, entryPoint, workgroupSize, PRELUDE);
  const inverseFull = f32ToBits(onebitInverseLength(args.blockSize));
  return (encoder) => {
    for (const piece of pieces) {
      // The piece's last block is ragged only in the tensor's last piece.
      const inverseLast = f32ToBits(onebitInverseLength(lastBlockLength(piece.elements, args.blockSize)));
      const params = new Uint32Array([piece.elements, args.blockSize, inverseFull, inverseLast, ...piece.wordOffsets]);
      ctx.dispatch(encoder, variant, params, piece.storage, perThread ? piece.blocks : piece.blocks * ONEBIT_SUM_LANES);
    }
  };
}

function prepareDecompress(ctx: GpuContext, args: OnebitDecompressArgs, options: KernelOptions): Recorder {
  const what = 'onebit decompress';
  checkBlockLayout(what, args.count, args.blockSize, ONEBIT_BLOCK_MULTIPLE);
  return prepareBlockDecode(ctx, {
    what, familySource: onebitSource, prelude: PRELUDE, packed: { name: 'signs', region: args.signs, valuesPerWord: 32 },
    scales: args.scales, dst: args.dst, count: args.count, blockSize: args.blockSize,
  }, options);
}
