// CPU reductions on caller memory: the fallback when no GPU is present and the oracle the GPU
// kernels are tested against. Semantics (forms, avg, premulSum, wrapping, rounding) are those
// of ReductionPlan in reduction.ts.
//
// Views: any ArrayBufferView (TypedArray of the dtype, or the raw Uint8Array a transport
// received), read and written in place when aligned to the element size. `dst` may be the
// very same memory as a source (in-place); partially overlapping ranges are not supported.
//
// Precision: float32 results are bit-identical to evaluating the plan left to right in f32
// arithmetic with RNE (that is what the GPU kernel does too). 16-bit floats are widened to f32,
// reduced in f32, and rounded once to the storage type (RNE) at the end of the operation.
import { elementBytes, isFloat, type DataType, type ElementArray, type ReduceOp } from '../dtype.js';
import { isHalfType, narrowBits, widenBits } from './cast.js';
import {
  addInto, divideInt, maxInto, minInto, multiplyFloatInto, multiplyIntInto, premulAddFloatInto, premulAddIntInto,
  scaleFloat, scaleInt, type Lanes,
} from './lanes.js';
import { accumulatePlan, averagePlan, checkCount, naryPlan, premultiplyPlan, type ReductionPlan } from './reduction.js';
import { checkViewLength, readElements, writeBackElements } from './views.js';

/** dst[i] = dst[i] ⊕ sources[0][i] ⊕ ... (1 .. 7 sources); avg sums, premulSum adds s*src. */
export function reduceAccumulate(dst: ArrayBufferView, sources: readonly ArrayBufferView[], count: number, dtype: DataType, op: ReduceOp): void {
  executePlan(accumulatePlan(dtype, op, sources.length), dst, [dst, ...sources], count);
}

/** dst[i] = sources[0][i] ⊕ ... (1 .. 8 sources); avg = sum / k, premulSum = Σ s*src. */
export function reduceNary(dst: ArrayBufferView, sources: readonly ArrayBufferView[], count: number, dtype: DataType, op: ReduceOp): void {
  executePlan(naryPlan(dtype, op, sources.length), dst, sources, count);
}

/** dst[i] = scalar * src[i]: a rank's own input before a premulSum reduction combines it. */
export function premultiply(dst: ArrayBufferView, src: ArrayBufferView, count: number, dtype: DataType, scalar: number): void {
  executePlan(premultiplyPlan(dtype, scalar), dst, [src], count);
}

/** dst[i] = src[i] / divisor: floats multiply by f32(1/divisor), integers divide (toward zero). */
export function finishAverage(dst: ArrayBufferView, src: ArrayBufferView, count: number, dtype: DataType, divisor: number): void {
  executePlan(averagePlan(dtype, divisor), dst, [src], count);
}

/** Elements per chunk: inputs are folded chunk by chunk so the f32 accumulator stays in cache. */
const CHUNK = 4096;

export function executePlan(plan: ReductionPlan, dst: ArrayBufferView, inputs: readonly ArrayBufferView[], count: number): void {
  const { dtype } = plan;
  checkCount(`reduce ${dtype}`, count);
  const bytes = count * elementBytes(dtype);
  checkViewLength('reduce dst', dst, bytes);
  inputs.forEach((view, i) => checkViewLength(`reduce input ${i}`, view, bytes));
  const out = readElements(dtype, dst, count);
  const elements = inputs.map((view) => (view === dst ? out : readElements(dtype, view, count)));
  // 32-bit lanes need no widening, so the output itself can be the accumulator: no pass to copy
  // each chunk into scratch and back (that was two of the three passes of an accumulate). Not
  // when a later input is the output's memory: the first stores would clobber it before it is read.
  const direct = !isHalfType(dtype) && !elements.slice(1).some((input) => sameMemory(input, out));
  const acc = direct ? undefined : newLanes(dtype, Math.min(CHUNK, count));
  const widened = direct ? undefined : new Uint32Array(acc!.length);
  for (let start = 0; start < count; start += CHUNK) {
    const end = Math.min(count, start + CHUNK);
    const chunk = acc ? acc.subarray(0, end - start) : out.subarray(start, end) as Lanes;
    const first = elements[0]!;
    if (acc || !sameMemory(first, out)) chunk.set(lanesOf(dtype, first, start, end, widened));
    if (plan.firstScaled) scale(plan, chunk);
    for (let j = 1; j < elements.length; j++) combine(plan, chunk, lanesOf(dtype, elements[j]!, start, end, widened));
    if (plan.divisor > 1) divide(plan, chunk);
    if (acc) store(dtype, out, start, chunk);
  }
  writeBackElements(dst, out);
}

function sameMemory(a: ElementArray, b: ElementArray): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset;
}

function newLanes(dtype: DataType, length: number): Lanes {
  if (isFloat(dtype)) return new Float32Array(length);
  return dtype === 'int32' ? new Int32Array(length) : new Uint32Array(length);
}

/** Elements [start, end) as 32-bit lanes: a view for 32-bit types, widened into `scratch` for 16-bit floats. */
function lanesOf(dtype: DataType, elements: ElementArray, start: number, end: number, scratch: Uint32Array | undefined): Lanes {
  if (!isHalfType(dtype)) return elements.subarray(start, end) as Lanes;
  const bits = scratch!.subarray(0, end - start);
  widenBits(dtype, bits, (elements as Uint16Array).subarray(start, end));
  return new Float32Array(bits.buffer, bits.byteOffset, bits.length);
}

function store(dtype: DataType, out: ElementArray, start: number, chunk: Lanes): void {
  if (isHalfType(dtype)) {
    narrowBits(dtype, (out as Uint16Array).subarray(start, start + chunk.length), new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length));
  } else {
    out.set(chunk, start);
  }
}

function combine(plan: ReductionPlan, acc: Lanes, x: Lanes): void {
  const float = acc instanceof Float32Array;
  switch (plan.combine) {
    case 'sum': return addInto(acc, x);
    case 'min': return minInto(acc, x);
    case 'max': return maxInto(acc, x);
    case 'prod': return float ? multiplyFloatInto(acc, x as Float32Array) : multiplyIntInto(acc, x as Int32Array | Uint32Array);
    case 'premulSum':
      return float ? premulAddFloatInto(acc, x as Float32Array, plan.scalar) : premulAddIntInto(acc, x as Int32Array | Uint32Array, plan.scalar);
  }
}

function scale(plan: ReductionPlan, acc: Lanes): void {
  if (acc instanceof Float32Array) scaleFloat(acc, plan.scalar);
  else scaleInt(acc, plan.scalar);
}

function divide(plan: ReductionPlan, acc: Lanes): void {
  if (acc instanceof Float32Array) scaleFloat(acc, Math.fround(1 / plan.divisor));
  else divideInt(acc, plan.divisor);
}
