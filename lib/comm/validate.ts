// Argument checks shared by every call. They run synchronously before a call is queued, so a
// rejected call has had no effect: nothing was sent and no sequence number was used.
import { isDataType, isReduceOp, type DataType, type ReduceOp } from '../dtype.js';
import { accumulatePlan } from '../cpu/reduction.js';
import { checkAlgorithmChoice } from '../collectives/algorithms.js';
import { detailOf, invalidArgument } from '../errors.js';
import type { AlgorithmSetting } from '../settings.js';

export function checkCount(what: string, count: unknown): asserts count is number {
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
    throw invalidArgument(`${what}: count ${String(count)} is not a non-negative integer`);
  }
}

export function checkDtype(what: string, dtype: unknown): asserts dtype is DataType {
  if (!isDataType(dtype)) throw invalidArgument(`${what}: unknown dtype ${JSON.stringify(dtype)} (expected float32, float16, bfloat16, int32 or uint32)`);
}

/** The op must exist and suit the dtype (an integer premulSum needs an integer scalar). */
export function checkOp(what: string, op: unknown, dtype: DataType): asserts op is ReduceOp {
  if (!isReduceOp(op)) {
    throw invalidArgument(`${what}: unknown reduction op ${JSON.stringify(op)} (expected sum, prod, min, max, avg or premulSum(scalar))`);
  }
  try {
    accumulatePlan(dtype, op, 1);
  } catch (error) {
    throw invalidArgument(`${what}: ${detailOf(error)}`);
  }
}

export function checkRank(what: string, role: string, value: unknown, size: number, self?: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= size) {
    throw invalidArgument(`${what}: ${role} ${String(value)} is not a rank in 0..${size - 1}`);
  }
  if (value === self) throw invalidArgument(`${what}: ${role} ${value} is this rank itself`);
}

export function checkAlgorithm(what: string, algorithm: unknown): asserts algorithm is AlgorithmSetting | undefined {
  if (algorithm !== undefined) checkAlgorithmChoice(what, algorithm);
}
