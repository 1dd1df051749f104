// What a reduction computes, independent of where it runs: the CPU loops (lib/cpu/reduce.ts)
// and the GPU kernel (lib/gpu/reduce.ts) both execute a ReductionPlan, so the agreed semantics
// live in exactly one place:
//
//   acc = inputs[0]             (times `scalar` when firstScaled)
//   acc = acc ⊕ inputs[j]       for j = 1 .. inputs-1, left to right
//   acc = acc / divisor         (when divisor > 1: floats multiply by f32(1/divisor), integers
//                                divide and truncate toward zero)
//   dst = acc                   (16-bit floats rounded once, to nearest even)
//
// The forms map onto it as follows:
//   accumulate  dst = dst ⊕ src0 ⊕ ... ⊕ src_{k-1}: inputs are [dst, src...]; avg acts as sum and
//               premulSum(s) adds s*src (dst is already premultiplied).
//   n-ary       dst = src0 ⊕ ... ⊕ src_{k-1}: avg is sum / k, premulSum(s) is Σ s*src_i.
//   premultiply dst = s*src;  finish-average dst = src / n.
// Floats are computed in f32, each operation rounded on its own (premulSum's s*x is rounded
// before it is added: no fused multiply-add anywhere); integer sum and product wrap (two's complement).
//
// NaN, to the bit (every path: this oracle, the native addon's loops, the WGSL kernel): a float
// operation above (⊕, the first input's scale, the final division) with a NaN operand gives its
// first NaN operand, in the order written (acc before x), with the quiet bit set and the sign
// and payload kept. A fold's result is therefore the first NaN among its inputs in input order,
// quieted, for every op (min and max propagate NaN too). 16-bit NaNs widen with their payload and
// narrow with its top bits and the quiet bit (cast.ts), so the rule holds in the storage type.
// An input no operation touches keeps its bits (a one-source f32 sum, min, max or avg; a 16-bit
// result always passes through narrowing, which quiets). A NaN made from numbers (∞ - ∞, 0 × ∞,
// premulSum's 0 × ∞) is the canonical quiet NaN 0x7fc00000 (narrowed: f16 0x7e00, bf16 0x7fc0),
// which later operations keep as they keep any NaN: not the device's default NaN (x86's is
// 0xffc00000, ARM's 0x7fc00000, NVIDIA's 0x7fffffff). The division by n cannot make one (1/n is
// finite and nonzero).
// The hop codecs' folds (acc + decoded payload, lib/cpu/host-codec.ts, the WGSL fold kernels)
// are sums by this rule too, acc before the payload; what each codec's decoding gives for NaN
// and ±∞ is stated in its file: bf16/fp16 keep NaN payloads (half.ts) and ±∞; block int8 and
// 1-bit turn a block holding NaN or ±∞ into 0x7fc00000 for every element; SwitchML likewise
// for the block (switchml.ts).
// Why a rule of our own: hardware and compilers do not fix one. x86 SSE/AVX arithmetic returns
// its first source operand's NaN (quieted), but C compilers and V8 commute adds and multiplies
// freely; minss/maxss return the second operand unquieted; WGSL leaves NaN results to the device.
import { isDataType, isFloat, isReduceOp, opName, type DataType, type ReduceOp } from '../dtype.js';
import { invalidArgument } from '../errors.js';

/** The binary operator ⊕; premulSum is `acc + scalar * x`. */
export type CombineOp = 'sum' | 'prod' | 'min' | 'max' | 'premulSum';

export interface ReductionPlan {
  readonly dtype: DataType;
  readonly combine: CombineOp;
  /** Number of inputs folded together (1 .. MAX_INPUTS). */
  readonly inputs: number;
  /** Multiply the first input by `scalar` before combining. */
  readonly firstScaled: boolean;
  /** premulSum's factor: rounded to f32 for float dtypes, an integer for integer dtypes. */
  readonly scalar: number;
  /** Final division (1 = none). */
  readonly divisor: number;
}

/** Inputs one kernel pass reads (the GPU kernel has this many source bindings). */
export const MAX_INPUTS = 8;

export function accumulatePlan(dtype: DataType, op: ReduceOp, sources: number): ReductionPlan {
  checkDtype(dtype);
  checkOp(op);
  checkSources('accumulate', sources, MAX_INPUTS - 1);
  const name = opName(op);
  return {
    dtype, combine: name === 'avg' ? 'sum' : name, inputs: sources + 1, firstScaled: false,
    scalar: scalarOf(dtype, op), divisor: 1,
  };
}

export function naryPlan(dtype: DataType, op: ReduceOp, sources: number): ReductionPlan {
  checkDtype(dtype);
  checkOp(op);
  checkSources('n-ary reduce', sources, MAX_INPUTS);
  const name = opName(op);
  return {
    dtype, combine: name === 'avg' ? 'sum' : name, inputs: sources, firstScaled: name === 'premulSum',
    scalar: scalarOf(dtype, op), divisor: name === 'avg' ? sources : 1,
  };
}

export function premultiplyPlan(dtype: DataType, scalar: number): ReductionPlan {
  checkDtype(dtype);
  return { dtype, combine: 'premulSum', inputs: 1, firstScaled: true, scalar: checkScalar(dtype, scalar), divisor: 1 };
}

export function averagePlan(dtype: DataType, divisor: number): ReductionPlan {
  checkDtype(dtype);
  if (!Number.isInteger(divisor) || divisor < 1 || divisor > 0x7fffffff) {
    throw invalidArgument(`average: divisor ${divisor} is not an integer in 1 .. 2^31-1`);
  }
  return { dtype, combine: 'sum', inputs: 1, firstScaled: false, scalar: 0, divisor };
}

export function checkCount(what: string, count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) throw invalidArgument(`${what}: count ${count} is not a non-negative integer`);
}

function checkDtype(dtype: DataType): void {
  if (!isDataType(dtype)) throw invalidArgument(`unknown dtype ${String(dtype)} (expected float32, float16, bfloat16, int32 or uint32)`);
}

function checkOp(op: ReduceOp): void {
  if (!isReduceOp(op)) {
    throw invalidArgument(`unknown reduction op ${JSON.stringify(op)} (expected sum, prod, min, max, avg or premulSum(finite scalar))`);
  }
}

function checkSources(what: string, sources: number, max: number): void {
  if (!Number.isInteger(sources) || sources < 1 || sources > max) {
    throw invalidArgument(`${what}: ${sources} sources given, between 1 and ${max} are supported per pass`);
  }
}

function scalarOf(dtype: DataType, op: ReduceOp): number {
  return typeof op === 'string' ? 0 : checkScalar(dtype, op.premulSum);
}

/** f32 for float dtypes; integer dtypes take an integer factor that fits 32 bits (wrapping multiply). */
function checkScalar(dtype: DataType, scalar: number): number {
  if (!Number.isFinite(scalar)) throw invalidArgument(`premulSum: scalar ${scalar} is not finite`);
  if (isFloat(dtype)) return Math.fround(scalar);
  if (!Number.isInteger(scalar) || scalar < -0x80000000 || scalar > 0xffffffff) {
    throw invalidArgument(`premulSum: scalar ${scalar} for ${dtype} must be an integer in -2^31 .. 2^32-1`);
  }
  return scalar | 0;
}
