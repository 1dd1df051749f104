// 1-bit sign compression with error feedback on the GPU (shaders/onebit.wgsl): the format,
// summation order and bounds of lib/cpu/onebit.ts, bit for bit. Compress has two layouts with
// identical results (see OnebitOptions.compressLayout); options.workgroupSize applies to
// decompress and to the thread-per-block compress. prepare* check a call and return its
// recorder; encode* and gpu* are its two forms (kernel.ts). A buffer a kernel writes must hold
// no other region of the same call (so x and residual live in different buffers).
import { f32ToBits } from '../cpu/half.js';
import { checkBlockLayout, lastBlockLength } from '../cpu/blocks.js';
import { ONEBIT_BLOCK_MULTIPLE, ONEBIT_SUM_LANES, onebitInverseLength } from '../cpu/onebit.js';
import type { GpuContext } from './context.js';
import { blockDecoder } from './block-decode.js';
import { codecVariant, packedWords, prepareCodecCall, wordsPerBlock, wordsPerElement } from './codec.js';
import { kernelForms, type Prepare, type Recorder } from './kernel.js';
import { checkWorkgroupSize, type KernelOptions } from './options.js';
import type { GpuRegion } from './region.js';
import { UniformLayout } from './uniform-layout.js';
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
  /** Fold the decoded values into dst instead of storing them: 'add' (a ring hop's decode + accumulate) or 'subtract' (an error-feedback residual). */
  readonly accumulate?: 'add' | 'subtract';
}

/**
 * The uniform block of both compress layouts: inverse_length_bits and inverse_last_length_bits
 * are fl(1/len) of full blocks and of the piece's last block.
 */
const COMPRESS_LAYOUT = new UniformLayout('CompressParams', [
  'count', 'block_size', 'inverse_length_bits', 'inverse_last_length_bits', 'x_offset', 'residual_offset', 'signs_offset', 'scales_offset',
]);

/** Every variant compiles the whole family source, which sizes the per-thread lane array and uses compress's block. */
const PRELUDE = [`const SUM_LANES = ${ONEBIT_SUM_LANES}u;`, COMPRESS_LAYOUT.wgsl];

/**
 * How compress maps blocks to threads. Both replay the format's summation order exactly, so the
 * output is the same bit for bit; only speed differs, and it differs by device kind:
 * - 'workgroup-per-block': 64 threads per block are the 64 lanes, with barriers and a shared-
 *   memory halving tree. The classic GPU reduction: loads coalesce across a warp and the lane
 *   sums live in registers. Chosen on hardware GPUs (not measured here: none on these machines).
 *   Its sign phase keeps all 64 threads on neighbouring elements (one more barrier per 256
 *   elements than the 8-thread serial walk it replaced), which lavapipe, where barriers cost,
 *   ran 2.7x slower (median ratio to copy 0.024 against 0.064, 5 alternating runs); kept for
 *   the coalescing a GPU needs until a GPU run says otherwise.
 * - 'thread-per-block': one thread keeps the 64 lane sums in a private array. No barriers, which
 *   a CPU implementation runs one invocation at a time: 3-5x faster on lavapipe (64 MiB, k=256,
 *   `npm run bench:kernels -- --filter onebit`). On a GPU the array's dynamic indexing spills
 *   to local memory and neighbouring threads read 4*blockSize bytes apart, hence the default.
 *   (8 threads per block, each adding 8 of the lanes as two vec4, one barrier, ran 2x slower
 *   than this on lavapipe: docs/PERFORMANCE.md, "Block codecs on lavapipe".)
 */
export type OnebitCompressLayout = 'workgroup-per-block' | 'thread-per-block';

export interface OnebitOptions extends KernelOptions {
  /** Default: 'thread-per-block' on software adapters (lavapipe, SwiftShader), else 'workgroup-per-block'. */
  readonly compressLayout?: OnebitCompressLayout;
}

export function prepareOnebitCompress(ctx: GpuContext, args: OnebitCompressArgs, options: OnebitOptions = {}): Recorder {
  const what = 'onebit compress';
  checkBlockLayout(what, args.count, args.blockSize, ONEBIT_BLOCK_MULTIPLE);
  const layout = options.compressLayout ?? (ctx.isSoftwareAdapter ? 'thread-per-block' : 'workgroup-per-block');
  const perThread = layout === 'thread-per-block';
  const workgroupSize = perThread ? checkWorkgroupSize(ctx, options.workgroupSize, ONEBIT_SUM_LANES) : ONEBIT_SUM_LANES;
  const entryPoint = perThread ? 'compress_per_thread' : 'compress';
  const inverseFull = f32ToBits(onebitInverseLength(args.blockSize));
  return prepareCodecCall(ctx, {
    what, variant: codecVariant(onebitSource, entryPoint, workgroupSize, PRELUDE), count: args.count, blockSize: args.blockSize,
    streams: [
      { name: 'x', region: args.x, writable: false, words: wordsPerElement },
      { name: 'residual', region: args.residual, writable: true, words: wordsPerElement },
      { name: 'signs', region: args.signs, writable: true, words: packedWords(32) },
      { name: 'scales', region: args.scales, writable: true, words: wordsPerBlock(args.blockSize) },
    ],
    layout: COMPRESS_LAYOUT,
    // The piece's last block is ragged only in the tensor's last piece.
    fields: (piece) => [
      piece.elements, args.blockSize, inverseFull, f32ToBits(onebitInverseLength(lastBlockLength(piece.elements, args.blockSize))),
    ],
    units: (piece) => (perThread ? piece.blocks : piece.blocks * ONEBIT_SUM_LANES), maxBindingBytes: options.maxBindingBytes,
  });
}

export const prepareOnebitDecompress: Prepare<[args: OnebitDecompressArgs, options?: KernelOptions]> = blockDecoder({
  what: 'onebit decompress', familySource: onebitSource, prelude: PRELUDE, packed: 'signs', valuesPerWord: 32, blockMultiple: ONEBIT_BLOCK_MULTIPLE,
});

export const { encode: encodeOnebitCompress, run: gpuOnebitCompress } = kernelForms(prepareOnebitCompress);
export const { encode: encodeOnebitDecompress, run: gpuOnebitDecompress } = kernelForms(prepareOnebitDecompress);
