// Block int8 codec on the GPU (shaders/int8.wgsl): the format and precision bound of
// lib/cpu/int8.ts, bit for bit. prepare* check a call and return its recorder; encode* and gpu*
// are its two forms (kernel.ts). A buffer a kernel writes must hold no other region of the same
// call.
import { f32ToBits } from '../cpu/half.js';
import { checkBlockLayout } from '../cpu/blocks.js';
import { INT8_BLOCK_MULTIPLE, INT8_INVERSE_LEVELS, INT8_LEVELS, INT8_MIN_ABSMAX_BITS } from '../cpu/int8.js';
import type { GpuContext } from './context.js';
import { blockDecoder } from './block-decode.js';
import { codecVariant, packedWords, prepareCodecCall, wordsPerBlock, wordsPerElement } from './codec.js';
import { kernelForms, type Prepare, type Recorder } from './kernel.js';
import { BLOCK_WORKGROUP_SIZE, checkWorkgroupSize, type KernelOptions } from './options.js';
import type { GpuRegion } from './region.js';
import { UniformLayout } from './uniform-layout.js';
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

/** The uniform block of `quantize` (shaders/int8.wgsl): one workgroup per block. */
const QUANTIZE_LAYOUT = new UniformLayout('QuantizeParams', ['count', 'block_size', 'src_offset', 'packed_offset', 'scales_offset']);

/** Every variant compiles the whole family source, quantize's uniform block included. */
const PRELUDE = [
  QUANTIZE_LAYOUT.wgsl,
  `const LEVELS = ${INT8_LEVELS}u;`,
  `const INVERSE_LEVELS_BITS = 0x${f32ToBits(INT8_INVERSE_LEVELS).toString(16)}u;`,
  `const MIN_ABSMAX_BITS = 0x${INT8_MIN_ABSMAX_BITS.toString(16)}u;`,
];

export function prepareInt8Quantize(ctx: GpuContext, args: Int8QuantizeArgs, options: KernelOptions = {}): Recorder {
  const what = 'int8 quantize';
  checkBlockLayout(what, args.count, args.blockSize, INT8_BLOCK_MULTIPLE);
  const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize, BLOCK_WORKGROUP_SIZE);
  return prepareCodecCall(ctx, {
    what, variant: codecVariant(int8Source, 'quantize', workgroupSize, PRELUDE), count: args.count, blockSize: args.blockSize,
    streams: [
      { name: 'src', region: args.src, writable: false, words: wordsPerElement },
      { name: 'packed', region: args.packed, writable: true, words: packedWords(4) },
      { name: 'scales', region: args.scales, writable: true, words: wordsPerBlock(args.blockSize) },
    ],
    layout: QUANTIZE_LAYOUT, fields: (piece) => [piece.elements, args.blockSize],
    units: (piece) => piece.blocks * workgroupSize, maxBindingBytes: options.maxBindingBytes,
  });
}

export const prepareInt8Dequantize: Prepare<[args: Int8DequantizeArgs, options?: KernelOptions]> = blockDecoder({
  what: 'int8 dequantize', familySource: int8Source, prelude: PRELUDE, packed: 'packed', valuesPerWord: 4, blockMultiple: INT8_BLOCK_MULTIPLE,
});

export const { encode: encodeInt8Quantize, run: gpuInt8Quantize } = kernelForms(prepareInt8Quantize);
export const { encode: encodeInt8Dequantize, run: gpuInt8Dequantize } = kernelForms(prepareInt8Dequantize);
