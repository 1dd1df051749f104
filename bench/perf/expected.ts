// The output each rank must hold after a collective, computed on the CPU from the inputs every
// rank fills deterministically (data.ts). Reductions run through lib/cpu's kernels, the library's
// own oracle, so the check and the library agree on what sum/avg/... mean for every dtype.
import type { DataType, ElementArray } from '../../lib/dtype.js';
import { finishAverage, premultiply, reduceAccumulate } from '../../lib/cpu/reduce.js';
import { allocateElements, rankInput } from './data.js';
import type { BufferLayout } from './layout.js';
import { mulsumScalar, type PerfCollective, type PerfOp } from './names.js';

export interface CallShape {
  readonly collective: PerfCollective;
  readonly dtype: DataType;
  readonly op: PerfOp;
  readonly root: number;
  readonly ranks: number;
  readonly layout: BufferLayout;
}

/** Folds the ranks' inputs (rank order) left to right (any rank count, not just the kernel's 8 inputs). */
function reduceAll(dtype: DataType, op: PerfOp, inputs: readonly ElementArray[], count: number): ElementArray {
  if (op === 'mulsum') {
    // Each rank scales its own input by its own scalar, then the scaled inputs are summed.
    const scaled = inputs.map((input, k) => { const out = input.slice(); premultiply(out, input, count, dtype, mulsumScalar(k)); return out; });
    return reduceAll(dtype, 'sum', scaled, count);
  }
  const [first, ...rest] = inputs;
  const out = first!.slice();
  // avg folds as a sum (reduceAccumulate's rule) and divides once at the end.
  for (const input of rest) reduceAccumulate(out, [input], count, dtype, op);
  if (op === 'avg') finishAverage(out, out, count, dtype, inputs.length);
  return out;
}

function ranks(n: number): number[] {
  return Array.from({ length: n }, (_, k) => k);
}

/** What `rank`'s receive buffer must hold; undefined where the collective defines nothing (reduce off the root). */
export function expectedOutput(shape: CallShape, rank: number): ElementArray | undefined {
  return expectedSlice(shape, rank, 0, shape.layout.recvCount);
}

/**
 * Elements [from, from + count) of expectedOutput, built from the inputs' same elements alone: the
 * check goes through a large output a slice at a time, so that it never holds every rank's whole
 * input at once (an 8-rank 256 MiB allreduce used to hold 2.25 GiB per rank for it).
 */
export function expectedSlice(shape: CallShape, rank: number, from: number, count: number): ElementArray | undefined {
  const { collective, dtype, op, root, layout } = shape;
  const n = shape.ranks;
  const piece = layout.callCount;
  switch (collective) {
    case 'allreduce':
      return reduceAll(dtype, op, ranks(n).map((k) => rankInput(dtype, k, count, from)), count);
    case 'reduce':
      return rank === root ? reduceAll(dtype, op, ranks(n).map((k) => rankInput(dtype, k, count, from)), count) : undefined;
    case 'reducescatter':
      return reduceAll(dtype, op, ranks(n).map((k) => rankInput(dtype, k, count, rank * piece + from)), count);
    case 'broadcast':
      return rankInput(dtype, root, count, from);
    case 'sendrecv':
      return rankInput(dtype, (rank - 1 + n) % n, count, from);
    case 'allgather':
    case 'alltoall': {
      // Block k comes from rank k: its whole input (allgather) or the block it addressed to us (alltoall).
      const out = allocateElements(dtype, count);
      const firstIndex = collective === 'alltoall' ? rank * piece : 0;
      const end = from + count;
      for (const k of ranks(n)) {
        const [start, stop] = [Math.max(from, k * piece), Math.min(end, (k + 1) * piece)];
        if (start < stop) out.set(rankInput(dtype, k, stop - start, firstIndex + start - k * piece), start - from);
      }
      return out;
    }
  }
}

/** The send buffer `rank` fills: its input (for reducescatter and alltoall, n blocks of it). */
export function sendInput(shape: CallShape, rank: number): ElementArray {
  return rankInput(shape.dtype, rank, shape.layout.sendCount);
}
