// Block int8 codec on the GPU (shaders/int8.wgsl): the format and precision bound of
// lib/cpu/int8.ts, bit for bit. `encode*` record into a caller's encoder (arguments are checked
// first: a bad call throws InvalidArgument and records nothing); `gpu*` submit and resolve when
// the GPU is done. A buffer a kernel writes must hold no other region of the same call.
import { f32ToBits } from '../cpu/half.js';
import { checkBlockLayout } from '../cpu/blocks.js';
import { INT8_BLOCK_MULTIPLE, INT8_INVERSE_LEVELS, INT8_LEVELS, INT8_MIN_ABSMAX_BITS } from '../cpu/int8.js';
import type { GpuContext } from './context.js';
import { prepareBlockDecode } from './block-decode.js';
import { codecVariant, packedWords, planPieces, wordsPerBlock, wordsPerElement, type Recorder } from './codec.js';
import { BLOCK_WORKGROUP_SIZE, checkWorkgroupSize, type KernelOptions } from './options.js';
import type { GpuRegion } from './region.js';
import int8Source from '../../shaders/int8.wgsl';

export interface Int8QuantizeArgs {
  /** count f32 values. */
  readonly src: GpuRegion;
  /** Receives ceil(count / 4) words of 4 signed bytes. */
  readonly packed: GpuRegion;
  /** Receives one f32 scale per block. */
  readonly scales: GpuRegion;
  readonly count: number;
  /** A multiple of 4. */
  readonly blockSize: number;
}

export interface Int8DequantizeArgs {
  readonly packed: GpuRegion;
  readonly scales: GpuRegion;
  /** Receives count f32 values. */
  readonly dst: GpuRegion;
  readonly count: number;
  readonly blockSize: number;
}

const PRELUDE = [
  `const LEVELS = ${INT8_LEVELS}u;`,
  `const INVERSE_LEVELS_BITS = 0x${f32ToBits(INT8_INVERSE_LEVELS).toString(16)}u;`,
  `const MIN_ABSMAX_BITS = 0x${INT8_MIN_ABSMAX_BITS.toString(16)}u;`,
];

export function encodeInt8Quantize(ctx: GpuContext, encoder: GPUCommandEncoder, args: Int8QuantizeArgs, options: KernelOptions = {}): void {
  prepareQuantize(ctx, args, options)(encoder);
}

export function encodeInt8Dequantize(ctx: GpuContext, encoder: GPUCommandEncoder, args: Int8DequantizeArgs, options: KernelOptions = {}): void {
  prepareDequantize(ctx, args, options)(encoder);
}

export async function gpuInt8Quantize(ctx: GpuContext, args: Int8QuantizeArgs, options: KernelOptions = {}): Promise<void> {
  await ctx.run(prepareQuantize(ctx, args, options));
}

export async function gpuInt8Dequantize(ctx: GpuContext, args: Int8DequantizeArgs, options: KernelOptions = {}): Promise<void> {
  await ctx.run(prepareDequantize(ctx, args, options));
}

function prepareQuantize(ctx: GpuContext, args: Int8QuantizeArgs, options: KernelOptions): Recorder {
  const what = 'int8 quantize';
  checkBlockLayout(what, args.count, args.blockSize, INT8_BLOCK_MULTIPLE);
  const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize, BLOCK_WORKGROUP_SIZE);
  const pieces = planPieces(ctx, what, args.count, args.blockSize, [
    { name: 'src', region: args.src, writable: false, words: wordsPerElement },
    { name: 'packed', region: args.packed, writable: true, words: packedWords(4) },
    { name: 'scales', region: args.scales, writable: true, words: wordsPerBlock(args.blockSize) },
  ], options.maxBindingBytes);
  const variant = codecVariant(int8Source, 'quantize', workgroupSize, PRELUDE);
  return (encoder) => {
    for (const piece of pieces) {
      // One workgroup per block.
      const params = new Uint32Array([piece.elements, args.blockSize, ...piece.wordOffsets]);
      ctx.dispatch(encoder, variant, params, piece.storage, piece.blocks * workgroupSize);
    }
  };
}

function prepareDequantize(ctx: GpuContext, args: Int8DequantizeArgs, options: KernelOptions): Recorder {
  const what = 'int8 dequantize';
  checkBlockLayout(what, args.count, args.blockSize, INT8_BLOCK_MULTIPLE);
  return prepareBlockDecode(ctx, {
    what, familySource: int8Source, prelude: PRELUDE, packed: { name: 'packed', region: args.packed, valuesPerWord: 4 },
    scales: args.scales, dst: args.dst, count: args.count, blockSize: args.blockSize,
  }, options);
}
