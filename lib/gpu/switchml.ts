// SwitchML codec on the GPU (shaders/switchml.wgsl): the same format, overflow proof and
// precision bound as lib/cpu/switchml.ts, bit for bit. A step of a SwitchML allreduce is:
//   1. encodeSwitchmlBlockExponents: local per-block exponents (i32, one per block);
//   2. the caller agrees on exponents with the other workers (a max-allreduce over i32);
//   3. encodeSwitchmlQuantize with the agreed exponents: i32 per element;
//   4. the integer sum over workers (switch or allreduce), which cannot overflow;
//   5. encodeSwitchmlDequantize of the sum with the same agreed exponents: f32 per element.
// `encode*` record into a caller's encoder (arguments are checked first: a bad call throws
// InvalidArgument and records nothing); `gpu*` submit and resolve when the GPU is done.
// A buffer a kernel writes must hold no other region of the same call.
import { f32ToBits } from '../cpu/half.js';
import { checkBlockLayout } from '../cpu/blocks.js';
import {
  SWITCHML_MAX_EXPONENT, SWITCHML_MIN_EXPONENT, SWITCHML_NONFINITE_EXPONENT, switchmlDequantizeFactor, switchmlWorkerBudget,
} from '../cpu/switchml.js';
import type { GpuContext } from './context.js';
import { codecVariant, ELEMENTS_PER_THREAD, planPieces, wordsPerBlock, wordsPerElement, type Recorder } from './codec.js';
import { BLOCK_WORKGROUP_SIZE, checkWorkgroupSize, type KernelOptions } from './options.js';
import type { GpuRegion } from './region.js';
import switchmlSource from '../../shaders/switchml.wgsl';

export interface SwitchmlExponentsArgs {
  /** count f32 values. */
  readonly src: GpuRegion;
  /** Receives one i32 per block. */
  readonly exponents: GpuRegion;
  readonly count: number;
  readonly blockSize: number;
}

export interface SwitchmlQuantizeArgs {
  /** count f32 values. */
  readonly src: GpuRegion;
  /** The agreed (max over workers) exponent of every block. */
  readonly exponents: GpuRegion;
  /** Receives count i32 values. */
  readonly dst: GpuRegion;
  readonly count: number;
  readonly blockSize: number;
  /** Number of workers whose values will be summed (n >= 1). */
  readonly workers: number;
}

export interface SwitchmlDequantizeArgs {
  /** count i32 sums over the workers. */
  readonly src: GpuRegion;
  /** The same agreed exponents the workers quantized with. */
  readonly exponents: GpuRegion;
  /** Receives count f32 values. */
  readonly dst: GpuRegion;
  readonly count: number;
  readonly blockSize: number;
  readonly workers: number;
}

const PRELUDE = [
  `const MIN_EXPONENT = ${SWITCHML_MIN_EXPONENT}i;`,
  `const MAX_EXPONENT = ${SWITCHML_MAX_EXPONENT}i;`,
  `const NONFINITE_EXPONENT = ${SWITCHML_NONFINITE_EXPONENT}i;`,
];

export function encodeSwitchmlBlockExponents(ctx: GpuContext, encoder: GPUCommandEncoder, args: SwitchmlExponentsArgs, options: KernelOptions = {}): void {
  prepareExponents(ctx, args, options)(encoder);
}

export function encodeSwitchmlQuantize(ctx: GpuContext, encoder: GPUCommandEncoder, args: SwitchmlQuantizeArgs, options: KernelOptions = {}): void {
  prepareQuantize(ctx, args, options)(encoder);
}

export function encodeSwitchmlDequantize(ctx: GpuContext, encoder: GPUCommandEncoder, args: SwitchmlDequantizeArgs, options: KernelOptions = {}): void {
  prepareDequantize(ctx, args, options)(encoder);
}

export async function gpuSwitchmlBlockExponents(ctx: GpuContext, args: SwitchmlExponentsArgs, options: KernelOptions = {}): Promise<void> {
  await ctx.run(prepareExponents(ctx, args, options));
}

export async function gpuSwitchmlQuantize(ctx: GpuContext, args: SwitchmlQuantizeArgs, options: KernelOptions = {}): Promise<void> {
  await ctx.run(prepareQuantize(ctx, args, options));
}

export async function gpuSwitchmlDequantize(ctx: GpuContext, args: SwitchmlDequantizeArgs, options: KernelOptions = {}): Promise<void> {
  await ctx.run(prepareDequantize(ctx, args, options));
}

function prepareExponents(ctx: GpuContext, args: SwitchmlExponentsArgs, options: KernelOptions): Recorder {
  const what = 'switchml exponents';
  checkBlockLayout(what, args.count, args.blockSize);
  const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize, BLOCK_WORKGROUP_SIZE);
  const pieces = planPieces(ctx, what, args.count, args.blockSize, [
    { name: 'src', region: args.src, writable: false, words: wordsPerElement },
    { name: 'exponents', region: args.exponents, writable: true, words: wordsPerBlock(args.blockSize) },
  ], options.maxBindingBytes);
  const variant = codecVariant(switchmlSource, 'block_exponents', workgroupSize, PRELUDE);
  return (encoder) => {
    for (const piece of pieces) {
      // One workgroup per block.
      const params = new Uint32Array([piece.elements, args.blockSize, ...piece.wordOffsets]);
      ctx.dispatch(encoder, variant, params, piece.storage, piece.blocks * workgroupSize);
    }
  };
}

function prepareQuantize(ctx: GpuContext, args: SwitchmlQuantizeArgs, options: KernelOptions): Recorder {
  const what = 'switchml quantize';
  checkBlockLayout(what, args.count, args.blockSize);
  const budget = switchmlWorkerBudget(args.workers);
  return prepareElementwise(ctx, what, 'quantize', args, budget, options);
}

function prepareDequantize(ctx: GpuContext, args: SwitchmlDequantizeArgs, options: KernelOptions): Recorder {
  const what = 'switchml dequantize';
  checkBlockLayout(what, args.count, args.blockSize);
  const factorBits = f32ToBits(switchmlDequantizeFactor(args.workers));
  return prepareElementwise(ctx, what, 'dequantize', args, factorBits, options);
}

/** quantize and dequantize share a shape: src, exponents and dst, elementwise. */
function prepareElementwise(
  ctx: GpuContext, what: string, entryPoint: string, args: SwitchmlQuantizeArgs | SwitchmlDequantizeArgs, constant: number, options: KernelOptions,
): Recorder {
  const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize);
  const pieces = planPieces(ctx, what, args.count, args.blockSize, [
    { name: 'src', region: args.src, writable: false, words: wordsPerElement },
    { name: 'exponents', region: args.exponents, writable: false, words: wordsPerBlock(args.blockSize) },
    { name: 'dst', region: args.dst, writable: true, words: wordsPerElement },
  ], options.maxBindingBytes);
  const variant = codecVariant(switchmlSource, entryPoint, workgroupSize, PRELUDE, ELEMENTS_PER_THREAD);
  return (encoder) => {
    for (const piece of pieces) {
      const params = new Uint32Array([args.blockSize, constant, ...piece.wordOffsets]);
      ctx.dispatch(encoder, variant, params, piece.storage, piece.elements);
    }
  };
}
