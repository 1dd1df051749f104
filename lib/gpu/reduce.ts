// Reductions on the GPU: the accumulate and n-ary forms and the two scale operations, with the
// semantics of lib/cpu/reduction.ts (the CPU layer is the oracle; results are bit-identical to
// it on adapters that keep f32 subnormals, and always for integers and for 16-bit floats whose
// values stay in f32's normal range; premulSum's products are rounded before they are added on
// every adapter, including those whose compilers fuse multiply-add, see reduce.wgsl). prepare*
// check a call and return its recorder, which collectives record with other work into one
// submission; encode* and gpu* are its two forms (kernel.ts).
//
// Regions are (buffer, byte offset) with offsets a multiple of 4; 16-bit dtypes must therefore
// start on an even element. The buffer must hold count*elementBytes rounded up to 4 bytes; an
// odd 16-bit count leaves the other half of the last word untouched. dst may be the same region
// as a source (in place); partially overlapping regions are not supported.
import { elementBytes, isFloat, type DataType, type ReduceOp } from '../dtype.js';
import { f32ToBits } from '../cpu/half.js';
import {
  accumulatePlan, averagePlan, checkCount, naryPlan, premultiplyPlan, type CombineOp, type ReductionPlan,
} from '../cpu/reduction.js';
import type { GpuContext, KernelVariant, UnitLayout } from './context.js';
import { kernelForms, type Recorder } from './kernel.js';
import { splitIntoPieces } from './pieces.js';
import { UniformLayout } from './uniform-layout.js';
import { checkRegion, type GpuRegion } from './region.js';
import { bindWithDst, readsThroughDst, sharedSpanBytes } from './bind-with-dst.js';
import { checkStorageBuffers, inputBindingsPrelude, inputStorage, VEC4_VIEW, viaDstMask, WORD_VIEW } from './input-bindings.js';
import { checkWorkgroupSize, type KernelOptions } from './options.js';
import { vec4Spans } from './vec4-spans.js';
import halfSource from '../../shaders/half.wgsl';
import reduceSource from '../../shaders/reduce.wgsl';

/**
 * The uniform block of every reduce variant. After `units` (words (reduce) or vec4s of words
 * (reduce_vec4) to write): count (elements; with 2 lanes the last word may hold only one),
 * dst_offset (in units, from the start of the dst binding), scalar (premulSum's factor, bits of
 * an Acc), divisor (avg's; used only by variants whose prelude says DIVIDES), inv_divisor (f32 bits of f32(1 / divisor), what float division multiplies by), opaque_zero
 * (always 0, but unknown to the compiler: what keeps premulSum's products from being fused into
 * its adds, see rounded_product in reduce.wgsl), then the unit offset of input j within the
 * binding it is read through.
 */
export const REDUCE_LAYOUT = new UniformLayout('Params', [
  'count', 'dst_offset', 'scalar', 'divisor', 'inv_divisor', 'opaque_zero',
], { name: 'offsets', vec4s: 2 });

const SOURCE = `${halfSource}\n${REDUCE_LAYOUT.wgsl}\n${reduceSource}`;

/** dst = op(dst, sources...), elementwise (dst is the first input). */
export function prepareReduceAccumulate(
  ctx: GpuContext, dst: GpuRegion, sources: readonly GpuRegion[], count: number, dtype: DataType, op: ReduceOp, options: KernelOptions = {},
): Recorder {
  return prepare(ctx, accumulatePlan(dtype, op, sources.length), dst, sources, count, options);
}

/** dst = op(sources...), elementwise; dst may be one of them. */
export function prepareReduceNary(
  ctx: GpuContext, dst: GpuRegion, sources: readonly GpuRegion[], count: number, dtype: DataType, op: ReduceOp, options: KernelOptions = {},
): Recorder {
  return prepare(ctx, naryPlan(dtype, op, sources.length), dst, sources, count, options);
}

/** dst = scalar * src (premulSum's scaling of the local input). */
export function preparePremultiply(
  ctx: GpuContext, dst: GpuRegion, src: GpuRegion, count: number, dtype: DataType, scalar: number, options: KernelOptions = {},
): Recorder {
  return prepare(ctx, premultiplyPlan(dtype, scalar), dst, [src], count, options);
}

/** dst = src / divisor (avg's last step). */
export function prepareFinishAverage(
  ctx: GpuContext, dst: GpuRegion, src: GpuRegion, count: number, dtype: DataType, divisor: number, options: KernelOptions = {},
): Recorder {
  return prepare(ctx, averagePlan(dtype, divisor), dst, [src], count, options);
}

export const { encode: encodeReduceAccumulate, run: gpuReduceAccumulate } = kernelForms(prepareReduceAccumulate);
export const { encode: encodeReduceNary, run: gpuReduceNary } = kernelForms(prepareReduceNary);
export const { encode: encodePremultiply, run: gpuPremultiply } = kernelForms(preparePremultiply);
export const { encode: encodeFinishAverage, run: gpuFinishAverage } = kernelForms(prepareFinishAverage);

const STORAGE: Record<DataType, string> = {
  float32: 'STORAGE_WORD', int32: 'STORAGE_WORD', uint32: 'STORAGE_WORD', float16: 'STORAGE_F16', bfloat16: 'STORAGE_BF16',
};
const ACC: Record<DataType, string> = { float32: 'f32', float16: 'f32', bfloat16: 'f32', int32: 'i32', uint32: 'u32' };
const OP: Record<CombineOp, string> = { sum: 'OP_SUM', prod: 'OP_PROD', min: 'OP_MIN', max: 'OP_MAX', premulSum: 'OP_PREMUL_SUM' };

/**
 * Params.opaque_zero: xor-ed into every premulSum product, which must therefore be 0. Being a
 * run-time value, it stops compilers from contracting the product and the following add into
 * an FMA (shaders/reduce.wgsl, rounded_product).
 */
const OPAQUE_ZERO = 0;

/**
 * Words (scalar form) or vec4s (vec4 form) per thread: the fastest measured on lavapipe. Where
 * they lie is thread_unit's layout (KernelOptions.unitLayout, else the context's).
 */
const UNITS_PER_THREAD = 4;

interface ReduceVariants {
  readonly scalar: KernelVariant;
  readonly vec4: KernelVariant;
}

/**
 * Variants are made once per (plan shape, inputs read through dst, workgroup size) and reused:
 * their preludes carry the generated input bindings, and the same object on every dispatch
 * lets GpuContext find its pipeline without rebuilding a key from that text.
 */
const variantCache = new Map<string, ReduceVariants>();

function reduceVariants(plan: ReductionPlan, viaDst: number, workgroupSize: number, unitLayout: UnitLayout | undefined): ReduceVariants {
  const divides = plan.divisor > 1;
  const key = `${plan.dtype} ${plan.combine} ${plan.inputs} ${plan.firstScaled} ${divides} ${viaDst} ${workgroupSize} ${unitLayout ?? ''}`;
  let variants = variantCache.get(key);
  if (!variants) {
    const prelude = [
      `alias Acc = ${ACC[plan.dtype]};`,
      `const STORAGE = ${STORAGE[plan.dtype]};`,
      `const LANES = ${4 / elementBytes(plan.dtype)}u;`,
      `const IS_FLOAT = ${isFloat(plan.dtype)};`,
      `const OP = ${OP[plan.combine]};`,
      `const INPUTS = ${plan.inputs}u;`,
      `const FIRST_SCALED = ${plan.firstScaled};`,
      `const DIVIDES = ${divides};`,
      ...inputBindingsPrelude(plan.inputs, viaDst, [WORD_VIEW, VEC4_VIEW]),
    ];
    const variant = (entryPoint: string): KernelVariant => ({
      source: SOURCE, entryPoint, workgroupSize, unitsPerThread: UNITS_PER_THREAD, prelude, ...(unitLayout && { unitLayout }),
    });
    variantCache.set(key, (variants = { scalar: variant('reduce'), vec4: variant('reduce_vec4') }));
  }
  return variants;
}

/**
 * Validates everything and returns the recording step, which cannot fail on arguments: a bad
 * call throws (or, through ctx.run, rejects) before anything is encoded. The plan's inputs are
 * `sources`, preceded by dst itself in the accumulate form (plan.inputs = sources + 1).
 */
function prepare(
  ctx: GpuContext, plan: ReductionPlan, dst: GpuRegion, sources: readonly GpuRegion[], count: number, options: KernelOptions,
): Recorder {
  const what = `reduce ${plan.dtype}`;
  checkCount(what, count);
  const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize);
  const bytesPerElement = elementBytes(plan.dtype);
  const byteLength = align4(count * bytesPerElement);
  checkRegion(`${what} dst`, dst, byteLength);
  sources.forEach((source, j) => checkRegion(`${what} source ${j}`, source, byteLength));
  const inputs = plan.inputs > sources.length ? [dst, ...sources] : sources;
  const viaDst = inputs.map((input) => readsThroughDst(dst, input));
  checkStorageBuffers(ctx, what, viaDst);
  const lanes = 4 / bytesPerElement;
  const pieces = splitIntoPieces(ctx, what, count, {
    maxBytesPerUnit: bytesPerElement, extraSpanBytes: sharedSpanBytes(dst, inputs), granule: lanes,
    ...(options.maxBindingBytes !== undefined && { maxBindingBytes: options.maxBindingBytes }),
  });
  const variants = reduceVariants(plan, viaDstMask(viaDst), workgroupSize, options.unitLayout);
  const scalarBits = isFloat(plan.dtype) ? f32ToBits(plan.scalar) : plan.scalar >>> 0;
  const inverseBits = f32ToBits(1 / plan.divisor);
  return (encoder) => {
    for (const piece of pieces) {
      const skip = piece.start * bytesPerElement;
      const bytes = align4(piece.count * bytesPerElement);
      const bound = bindWithDst(ctx, { region: dst, skip, bytes }, inputs.map((input) => ({ region: input, skip, bytes })));
      const storage = inputStorage(bound);
      const wordOffsets = [bound.dst.wordOffset, ...bound.inputs.map((input) => input.wordOffset)];
      const words = Math.ceil(piece.count / lanes);
      for (const span of vec4Spans(words, wordOffsets, piece.count % lanes !== 0)) {
        // Offsets in the span's units: words, or vec4s (span.vec4 guarantees they divide).
        const unit = span.vec4 ? 4 : 1;
        const [dstOffset, ...inputOffsets] = wordOffsets.map((offset) => (offset + span.start) / unit);
        const elements = Math.min(span.words * lanes, piece.count - span.start * lanes);
        const params = REDUCE_LAYOUT.words(
          [elements, dstOffset!, scalarBits, plan.divisor, inverseBits, OPAQUE_ZERO], inputOffsets,
        );
        ctx.dispatch(encoder, span.vec4 ? variants.vec4 : variants.scalar, params, storage, span.words / unit);
      }
    }
  };
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
