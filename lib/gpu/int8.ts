// Block int8 codec on the GPU (shaders/int8.wgsl): the format and precision bound of
// lib/cpu/int8.ts, bit for bit. prepare* check a call and return its recorder; encode* and gpu*
// are its two forms (kernel.ts). A buffer a kernel writes must hold no other region of the same
// call.
import { f32ToBits } from '../cpu/half.js';
import { checkBlockLayout } from '../cpu/blocks.js';
import { INT8_BLOCK_MULTIPLE, INT8_INVERSE_LEVELS, INT8_LEVELS, INT8_MIN_ABSMAX_BITS } from '../cpu/int8.js';
import type { GpuContext } from './context.js';
import { blockDecoder } from './block-decode.js';
import { codecVariant, joinedSource, packedWords, prepareCodecCall, wordsPerBlock, wordsPerElement } from './codec.js';
import { kernelForms, type Prepare, type Recorder } from './kernel.js';
import { BLOCK_WORKGROUP_SIZE, checkWorkgroupSize, type KernelOptions } from './options.js';
import type { GpuRegion } from './region.js';
import { UniformLayout } from './uniform-layout.js';
import int8Source from '../../shaders/int8.wgsl';
import int8FoldSource from '../../shaders/int8-fold.wgsl';

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
 * times faster; on a GPU neighbouring threads would read blockSize * 4 bytes apart. (8 threads
 * per block reading neighbouring quads, 8 blocks a workgroup, also ran slower on lavapipe than
 * one thread per block: docs/PERFORMANCE.md, "Block codecs on lavapipe".)
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

export interface Int8FoldQuantizeArgs {
  /** The received payload's streams (blockSize as below): ceil(count / 4) packed words and one scale per block. */
  readonly recvPacked: GpuRegion;
  readonly recvScales: GpuRegion;
  /** count f32 partial sums; receives acc + dequantize(recv). */
  readonly acc: GpuRegion;
  /** Receive acc quantized, as int8 quantize writes them. */
  readonly packed: GpuRegion;
  readonly scales: GpuRegion;
  readonly count: number;
  readonly blockSize: number;
}

/**
 * The fold entry points (shaders/int8-fold.wgsl) read and write acc through quantize_src: the
 * same two views as SRC_WORDS / SRC_VEC4, bound read-write, with store_quad writing a quad's
 * first `lanes` elements.
 */
const ACC_WORDS = [
  '@group(0) @binding(1) var<storage, read_write> quantize_src: array<u32>;',
  'fn src_quad(at: u32) -> vec4u { return vec4u(quantize_src[at], quantize_src[at + 1u], quantize_src[at + 2u], quantize_src[at + 3u]); }',
  'fn store_quad(at: u32, quad: vec4u, lanes: u32) { for (var l = 0u; l < lanes; l++) { quantize_src[at + l] = quad[l]; } }',
];
const ACC_VEC4 = [
  '@group(0) @binding(1) var<storage, read_write> quantize_src4: array<vec4u>;',
  'fn src_quad(at: u32) -> vec4u { return quantize_src4[at / 4u]; }',
  'fn store_quad(at: u32, quad: vec4u, lanes: u32) { quantize_src4[at / 4u] = quad; }',
];

/** After count and block_size: opaque_zero (always 0, see int8-fold.wgsl), then the streams' word offsets in binding order. */
const FOLD_LAYOUT = new UniformLayout('FoldQuantizeParams', [
  'count', 'block_size', 'opaque_zero', 'acc_offset', 'packed_offset', 'scales_offset', 'recv_packed_offset', 'recv_scales_offset',
]);

/** FoldQuantizeParams.opaque_zero: xor-ed into every decoded value, so it must be 0. */
const OPAQUE_ZERO = 0;

/**
 * acc = acc + dequantize(recv), then acc quantized into packed and scales, in one kernel: bit
 * for bit int8 dequantize with accumulate 'add' followed by int8 quantize of acc (a ring hop's
 * send side). The layouts are int8 quantize's, chosen the same way.
 */
export function prepareInt8FoldQuantize(ctx: GpuContext, args: Int8FoldQuantizeArgs, options: Int8Options = {}): Recorder {
  const what = 'int8 fold + quantize';
  checkBlockLayout(what, args.count, args.blockSize, INT8_BLOCK_MULTIPLE);
  const perThread = (options.quantizeLayout ?? (ctx.isSoftwareAdapter ? 'thread-per-block' : 'workgroup-per-block')) === 'thread-per-block';
  const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize, perThread ? 64 : BLOCK_WORKGROUP_SIZE);
  const entryPoint = perThread ? 'fold_quantize_per_thread' : 'fold_quantize';
  const source = joinedSource(int8Source, int8FoldSource);
  const [words, vec4] = [ACC_WORDS, ACC_VEC4].map((acc) => codecVariant(source, entryPoint, workgroupSize, [...PRELUDE, FOLD_LAYOUT.wgsl, ...acc]));
  return prepareCodecCall(ctx, {
    what, variant: (piece) => (piece.wordOffsets[0]! % 4 === 0 && piece.elements % 4 === 0 ? vec4! : words!), count: args.count, blockSize: args.blockSize,
    streams: [
      { name: 'acc', region: args.acc, writable: true, words: wordsPerElement },
      { name: 'packed', region: args.packed, writable: true, words: packedWords(4) },
      { name: 'scales', region: args.scales, writable: true, words: wordsPerBlock(args.blockSize) },
      { name: 'recv packed', region: args.recvPacked, writable: false, words: packedWords(4) },
      { name: 'recv scales', region: args.recvScales, writable: false, words: wordsPerBlock(args.blockSize) },
    ],
    layout: FOLD_LAYOUT, fields: (piece) => [piece.elements, args.blockSize, OPAQUE_ZERO],
    units: (piece) => (perThread ? piece.blocks : piece.blocks * workgroupSize), maxBindingBytes: options.maxBindingBytes,
  });
}

export const prepareInt8Dequantize: Prepare<[args: Int8DequantizeArgs, options?: KernelOptions]> = blockDecoder({
  what: 'int8 dequantize', familySource: int8Source, prelude: [...PRELUDE, ...SRC_WORDS], packed: 'packed', valuesPerWord: 4, blockMultiple: INT8_BLOCK_MULTIPLE,
});

export const { encode: encodeInt8Quantize, run: gpuInt8Quantize } = kernelForms(prepareInt8Quantize);
export const { encode: encodeInt8Dequantize, run: gpuInt8Dequantize } = kernelForms(prepareInt8Dequantize);
export const { encode: encodeInt8FoldQuantize, run: gpuInt8FoldQuantize } = kernelForms(prepareInt8FoldQuantize);
