// SwitchML codec on the GPU (shaders/switchml.wgsl): the same format, overflow proof and
// precision bound as lib/cpu/switchml.ts, bit for bit. A step of a SwitchML allreduce is:
//   1. encodeSwitchmlBlockExponents: local per-block exponents (i32, one per block);
//   2. the caller agrees on exponents with the other workers (a max-allreduce over i32);
//   3. encodeSwitchmlQuantize with the agreed exponents: i32 per element;
//   4. the integer sum over workers (switch or allreduce), which cannot overflow;
//   5. encodeSwitchmlDequantize of the sum with the same agreed exponents: f32 per element.
// prepare* check a call and return its recorder; encode* and gpu* are its two forms (kernel.ts).
// A buffer a kernel writes must hold no other region of the same call.
import { f32ToBits } from '../cpu/half.js';
import { checkBlockLayout } from '../cpu/blocks.js';
import {
  SWITCHML_MAX_EXPONENT, SWITCHML_MIN_EXPONENT, SWITCHML_NONFINITE_EXPONENT, switchmlDequantizeFactor, switchmlWorkerBudget,
} from '../cpu/switchml.js';
import type { GpuContext, KernelVariant } from './context.js';
import { codecVariant, ELEMENTS_PER_THREAD, prepareCodecCall, wordsPerBlock, wordsPerElement, type Piece } from './codec.js';
import { kernelForms, type Recorder } from './kernel.js';
import { BLOCK_WORKGROUP_SIZE, checkWorkgroupSize, type KernelOptions } from './options.js';
import type { GpuRegion } from './region.js';
import { UniformLayout } from './uniform-layout.js';
import { BLOCK_DIVISOR_BINDING_BYTES, blockDivisor } from './block-divisor.js';
import switchmlSource from '../../shaders/switchml.wgsl';

export interface SwitchmlExponentsArgs {
  /** count f32 values. */
  readonly src: GpuRegion;
  /** Receives one i32 per block. */
  readonly exponents: GpuRegion;
  readonly count: number;
  readonly blockSize: number;
}

/** What quantize and dequantize share: elementwise over src, with the agreed exponents. */
export interface SwitchmlElementwiseArgs {
  /** The agreed (max over workers) exponent of every block: the same for quantize and dequantize. */
  readonly exponents: GpuRegion;
  readonly count: number;
  readonly blockSize: number;
  /** Number of workers whose values are summed (n >= 1). */
  readonly workers: number;
}

export interface SwitchmlQuantizeArgs extends SwitchmlElementwiseArgs {
  /** count f32 values. */
  readonly src: GpuRegion;
  /** Receives count i32 values. */
  readonly dst: GpuRegion;
}

export interface SwitchmlDequantizeArgs extends SwitchmlElementwiseArgs {
  /** count i32 sums over the workers. */
  readonly src: GpuRegion;
  /** Receives count f32 values. */
  readonly dst: GpuRegion;
}

/** The uniform blocks: one workgroup per block for exponents, elements for the other two. */
const EXPONENT_LAYOUT = new UniformLayout('ExponentParams', ['count', 'block_size', 'src_offset', 'exponents_offset']);
const QUANTIZE_LAYOUT = new UniformLayout('QuantizeParams', ['block_magic', 'block_shift', 'budget', 'src_offset', 'exponents_offset', 'dst_offset']);
const DEQUANTIZE_LAYOUT = new UniformLayout('DequantizeParams', ['block_magic', 'block_shift', 'factor_bits', 'src_offset', 'exponents_offset', 'dst_offset']);

/** The constants and every uniform block: what every variant's compile of the whole family source needs ... */
const COMMON_PRELUDE = [
  `const MIN_EXPONENT = ${SWITCHML_MIN_EXPONENT}i;`,
  `const MAX_EXPONENT = ${SWITCHML_MAX_EXPONENT}i;`,
  `const NONFINITE_EXPONENT = ${SWITCHML_NONFINITE_EXPONENT}i;`,
  EXPONENT_LAYOUT.wgsl, QUANTIZE_LAYOUT.wgsl, DEQUANTIZE_LAYOUT.wgsl,
];
/**
 * ... and the quad reader of block_exponents_per_thread (exponent_quad in shaders/switchml.wgsl):
 * four word loads through the family's src binding, whose lanes past the block are masked ...
 */
const QUAD_WORDS = ['fn exponent_quad(at: u32) -> vec4u { return vec4u(exponent_src[at], exponent_src[at + 1u], exponent_src[at + 2u], exponent_src[at + 3u]); }'];
/**
 * ... or one vec4 load, where the piece's src starts on a vec4 boundary of its binding and it and
 * its blocks hold whole quads (a vec4 load reaching past the binding may read zeros in every lane).
 */
const QUAD_VEC4 = [
  '@group(0) @binding(1) var<storage, read> exponent_src4: array<vec4u>;',
  'fn exponent_quad(at: u32) -> vec4u { return exponent_src4[at / 4u]; }',
];
const PRELUDE = [...COMMON_PRELUDE, ...QUAD_WORDS];

/**
 * How block exponents map blocks to threads; both give the same bits (max is exact and order-
 * free). 'workgroup-per-block': a block's threads read neighbouring words and meet at one atomic
 * and a barrier, the GPU way. 'thread-per-block': one thread reads its block in quads, no
 * barrier, which software adapters (a barrier costs per invocation there) run several times
 * faster; on a GPU neighbouring threads would read blockSize * 4 bytes apart.
 */
export type SwitchmlExponentsLayout = 'workgroup-per-block' | 'thread-per-block';

export interface SwitchmlOptions extends KernelOptions {
  /** Default: 'thread-per-block' on software adapters (lavapipe, SwiftShader), else 'workgroup-per-block'. */
  readonly exponentsLayout?: SwitchmlExponentsLayout;
}

export function prepareSwitchmlBlockExponents(ctx: GpuContext, args: SwitchmlExponentsArgs, options: SwitchmlOptions = {}): Recorder {
  const what = 'switchml exponents';
  checkBlockLayout(what, args.count, args.blockSize);
  const perThread = (options.exponentsLayout ?? (ctx.isSoftwareAdapter ? 'thread-per-block' : 'workgroup-per-block')) === 'thread-per-block';
  const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize, perThread ? 64 : BLOCK_WORKGROUP_SIZE);
  const words = codecVariant(switchmlSource, perThread ? 'block_exponents_per_thread' : 'block_exponents', workgroupSize, PRELUDE);
  const quads = perThread ? codecVariant(switchmlSource, 'block_exponents_per_thread', workgroupSize, [...COMMON_PRELUDE, ...QUAD_VEC4]) : words;
  const quadBlocks = args.blockSize % 4 === 0;
  return prepareCodecCall(ctx, {
    what, count: args.count, blockSize: args.blockSize,
    variant: (piece) => (quadBlocks && piece.elements % 4 === 0 && piece.wordOffsets[0]! % 4 === 0 ? quads : words),
    streams: [
      { name: 'src', region: args.src, writable: false, words: wordsPerElement },
      { name: 'exponents', region: args.exponents, writable: true, words: wordsPerBlock(args.blockSize) },
    ],
    layout: EXPONENT_LAYOUT, fields: (piece) => [piece.elements, args.blockSize],
    units: (piece) => (perThread ? piece.blocks : piece.blocks * workgroupSize), maxBindingBytes: options.maxBindingBytes,
  });
}

export function prepareSwitchmlQuantize(ctx: GpuContext, args: SwitchmlQuantizeArgs, options: KernelOptions = {}): Recorder {
  const what = 'switchml quantize';
  checkBlockLayout(what, args.count, args.blockSize);
  return prepareElementwise(ctx, what, QUANTIZE_LAYOUT, 'quantize', args, switchmlWorkerBudget(args.workers), options);
}

export function prepareSwitchmlDequantize(ctx: GpuContext, args: SwitchmlDequantizeArgs, options: KernelOptions = {}): Recorder {
  const what = 'switchml dequantize';
  checkBlockLayout(what, args.count, args.blockSize);
  return prepareElementwise(ctx, what, DEQUANTIZE_LAYOUT, 'dequantize', args, f32ToBits(switchmlDequantizeFactor(args.workers)), options);
}

export const { encode: encodeSwitchmlBlockExponents, run: gpuSwitchmlBlockExponents } = kernelForms(prepareSwitchmlBlockExponents);
export const { encode: encodeSwitchmlQuantize, run: gpuSwitchmlQuantize } = kernelForms(prepareSwitchmlQuantize);
export const { encode: encodeSwitchmlDequantize, run: gpuSwitchmlDequantize } = kernelForms(prepareSwitchmlDequantize);

/** quantize and dequantize share a shape: src, exponents and dst, elementwise, and one constant (budget, factor). */
function prepareElementwise(
  ctx: GpuContext, what: string, layout: UniformLayout, entryPoint: string, args: SwitchmlQuantizeArgs | SwitchmlDequantizeArgs,
  constant: number, options: KernelOptions,
): Recorder {
  const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize);
  const [words, quads] = [entryPoint, `${entryPoint}_vec4`].map((entry): KernelVariant => ({
    ...codecVariant(switchmlSource, entry, workgroupSize, PRELUDE, ELEMENTS_PER_THREAD), ...(options.unitLayout && { unitLayout: options.unitLayout }),
  }));
  const quadBlocks = args.blockSize % 4 === 0;
  const divisor = blockDivisor(args.blockSize);
  // Quads (shaders/switchml.wgsl, *_vec4) where src and dst (streams 0 and 2) start on a vec4
  // boundary, the piece holds whole quads and a quad never straddles two blocks.
  const inQuads = (piece: Piece) => quadBlocks && piece.elements % 4 === 0 && piece.wordOffsets[0]! % 4 === 0 && piece.wordOffsets[2]! % 4 === 0;
  return prepareCodecCall(ctx, {
    what, count: args.count, blockSize: args.blockSize,
    variant: (piece) => (inQuads(piece) ? quads! : words!),
    streams: [
      { name: 'src', region: args.src, writable: false, words: wordsPerElement },
      { name: 'exponents', region: args.exponents, writable: false, words: wordsPerBlock(args.blockSize) },
      { name: 'dst', region: args.dst, writable: true, words: wordsPerElement },
    ],
    // Block indices without a division (divide_by_block), which needs fewer than 2^30 elements a piece.
    layout, fields: () => [...divisor, constant], maxBindingBytes: Math.min(options.maxBindingBytes ?? Infinity, BLOCK_DIVISOR_BINDING_BYTES),
    units: (piece) => (inQuads(piece) ? piece.elements / 4 : piece.elements),
  });
}
