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
  /** Fold the decoded values into dst instead of storing them: 'add' (a ring hop's decode + accumulate) or 'subtract' (an error-feedback residual). */
  readonly accumulate?: 'add' | 'subtract';
}

/** The uniform block of both quantize layouts (shaders/int8.wgsl). */
const QUANTIZE_LAYOUT = new UniformLayout('QuantizeParams', ['count', 'block_size', 'src_offset', 'packed_offset', 'scales_offset']);

/** Every variant compiles the whole family source, quantize's uniform block included. */
const PRELUDE = [
  QUANTIZE_LAYOUT.wgsl,
  `const LEVELS = ${INT8_LEVELS}u;`,
  `const INVERSE_LEVELS_BITS = 0x${f32ToBits(INT8_INVERSE_LEVELS).toString(16)}u;`,
  `const MIN_ABSMAX_BITS = 0x${INT8_MIN_ABSMAX_BITS.toString(16)}u;`,
];

/**
 * quantize's src binding and its quad reader (src_quad in shaders/int8.wgsl): a vec4 view where
 * the piece's src words start on a vec4 boundary of the binding (block sizes are multiples of
 * 4, so every quad is then aligned) and holds whole quads, else four word loads. A vec4 load
 * reaching past the binding's end may return zeros in every lane (SwiftShader does), so a
 * ragged last quad is read as words; its words past the count are never used.
 */
const SRC_WORDS = [
  '@group(0) @binding(1) var<storage, read> quantize_src: array<u32>;',
  'fn src_quad(at: u32) -> vec4u { return vec4u(quantize_src[at], quantize_src[at + 1u], quantize_src[at + 2u], quantize_src[at + 3u]); }',
];
const SRC_VEC4 = [
  '@group(0) @binding(1) var<storage, read> quantize_src4: array<vec4u>;',
  'fn src_quad(at: u32) -> vec4u { return quantize_src4[at / 4u]; }',
];

/**
 * How quantize maps blocks to threads; both give the same bits (absmax is an exact, order-free
 * max). 'workgroup-per-block': the block's threads share the reads and meet at an atomic and a
 * barrier, the GPU way. 'thread-per-block': one thread reads its block twice (the second time
 * from cache), no barrier, which lavapipe (a barrier costs per invocation there) runs several
 * times faster; on a GPU neighbouring threads would read blockSize * 4 bytes apart.
 */
export type Int8QuantizeLayout = 'workgroup-per-block' | 'thread-per-block';

export interface Int8Options extends KernelOptions {
  /** Default: 'thread-per-block' on software adapters (lavapipe, SwiftShader), else 'workgroup-per-block'. */
  readonly quantizeLayout?: Int8QuantizeLayout;
}

export function prepareInt8Quantize(ctx: GpuContext, args: Int8QuantizeArgs, options: Int8Options = {}): Recorder {
  const what = 'int8 quantize';
  checkBlockLayout(what, args.count, args.blockSize, INT8_BLOCK_MULTIPLE);
  const perThread = (options.quantizeLayout ?? (ctx.isSoftwareAdapter ? 'thread-per-block' : 'workgroup-per-block')) === 'thread-per-block';
  const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize, perThread ? 64 : BLOCK_WORKGROUP_SIZE);
  const entryPoint = perThread ? 'quantize_per_thread' : 'quantize';
  const [words, vec4] = [SRC_WORDS, SRC_VEC4].map((src) => codecVariant(int8Source, entryPoint, workgroupSize, [...PRELUDE, ...src]));
  return prepareCodecCall(ctx, {
    what, variant: (piece) => (piece.wordOffsets[0]! % 4 === 0 && piece.elements % 4 === 0 ? vec4! : words!), count: args.count, blockSize: args.blockSize,
    streams: [
      { name: 'src', region: args.src, writable: false, words: wordsPerElement },
      { name: 'packed', region: args.packed, writable: true, words: packedWords(4) },
      { name: 'scales', region: args.scales, writable: true, words: wordsPerBlock(args.blockSize) },
    ],
    layout: QUANTIZE_LAYOUT, fields: (piece) => [piece.elements, args.blockSize],
    units: (piece) => (perThread ? piece.blocks : piece.blocks * workgroupSize), maxBindingBytes: options.maxBindingBytes,
  });
}

export const prepareInt8Dequantize: Prepare<[args: Int8DequantizeArgs, options?: KernelOptions]> = blockDecoder({
  what: 'int8 dequantize', familySource: int8Source, prelude: [...PRELUDE, ...SRC_WORDS], packed: 'packed', valuesPerWord: 4, blockMultiple: INT8_BLOCK_MULTIPLE,
});

export const { encode: encodeInt8Quantize, run: gpuInt8Quantize } = kernelForms(prepareInt8Quantize);
export const { encode: encodeInt8Dequantize, run: gpuInt8Dequantize } = kernelForms(prepareInt8Dequantize);
