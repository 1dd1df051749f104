// nccl-tests' names for element types and collectives, mapped to webccl's vocabulary.
// The table prints nccl-tests' spelling ("float", "half") so that existing scripts can read it.
import { DATA_TYPES, premulSum, SIMPLE_OPS, type DataType, type ReduceOp, type SimpleOp } from '../../lib/dtype.js';

export const COLLECTIVES = ['allreduce', 'allgather', 'reducescatter', 'broadcast', 'reduce', 'alltoall', 'sendrecv'] as const;
export type PerfCollective = typeof COLLECTIVES[number];

const TYPE_ALIASES: Record<string, DataType> = {
  float: 'float32', float32: 'float32', f32: 'float32',
  half: 'float16', float16: 'float16', f16: 'float16',
  bfloat16: 'bfloat16', bf16: 'bfloat16',
  int32: 'int32', int: 'int32', i32: 'int32',
  uint32: 'uint32', u32: 'uint32',
};

const NCCL_TYPE_NAMES: Record<DataType, string> = { float32: 'float', float16: 'half', bfloat16: 'bfloat16', int32: 'int32', uint32: 'uint32' };

/** Types nccl-tests knows that webccl does not move: named in the error rather than "unknown". */
const UNSUPPORTED_TYPES = ['int8', 'uint8', 'int64', 'uint64', 'double', 'float64', 'f8e4m3', 'f8e5m2'];

/** Accepts nccl-tests' binary names too: all_reduce, all_reduce_perf, allReduce. */
export function parseCollective(text: string): PerfCollective {
  const normal = text.toLowerCase().replace(/_perf$/, '').replaceAll('_', '');
  const found = COLLECTIVES.find((name) => name === normal);
  if (found === undefined) throw new Error(`unknown collective "${text}" (one of ${COLLECTIVES.join(', ')})`);
  return found;
}

/** A dtype name or "all" (every type webccl supports, as nccl-tests' -d all). */
export function parseDataTypes(text: string): DataType[] {
  const lower = text.toLowerCase();
  if (lower === 'all') return [...DATA_TYPES];
  const dtype = TYPE_ALIASES[lower];
  if (dtype !== undefined) return [dtype];
  const known = Object.keys(TYPE_ALIASES).join(', ');
  if (UNSUPPORTED_TYPES.includes(lower)) throw new Error(`dtype ${text} is not supported by webccl (supported: ${known})`);
  throw new Error(`unknown dtype "${text}" (one of ${known}, all)`);
}

/**
 * nccl-tests' ops: the simple ones plus mulsum, a premulSum whose scalar is each rank's own
 * (nccl-tests' ncclVerifiablePremulScalar: 1 on even ranks, 2 on odd ones).
 */
export type PerfOp = SimpleOp | 'mulsum';

export const PERF_OPS: readonly PerfOp[] = [...SIMPLE_OPS, 'mulsum'];

/** The scalar rank `rank` multiplies its input by under mulsum (exact in every dtype). */
export function mulsumScalar(rank: number): number {
  return rank % 2 === 0 ? 1 : 2;
}

/** The op `rank` passes to webccl for a perf op: mulsum becomes that rank's premulSum. */
export function rankReduceOp(op: PerfOp, rank: number): ReduceOp {
  return op === 'mulsum' ? premulSum(mulsumScalar(rank)) : op;
}

/** An op name or "all" (sum, prod, max, min, avg, mulsum as nccl-tests' -o all). */
export function parseOps(text: string): PerfOp[] {
  const lower = text.toLowerCase();
  if (lower === 'all') return [...PERF_OPS];
  const op = PERF_OPS.find((name) => name === lower);
  if (op === undefined) throw new Error(`unknown op "${text}" (one of ${PERF_OPS.join(', ')}, all)`);
  return [op];
}

export function ncclTypeName(dtype: DataType): string {
  return NCCL_TYPE_NAMES[dtype];
}

/** Collectives that reduce (the others print "none" as their op and run once per type). */
export function reduces(collective: PerfCollective): boolean {
  return collective === 'allreduce' || collective === 'reducescatter' || collective === 'reduce';
}

/** Collectives with a root (the others print root -1). */
export function hasRoot(collective: PerfCollective): boolean {
  return collective === 'broadcast' || collective === 'reduce';
}
