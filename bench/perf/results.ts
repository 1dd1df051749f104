// What one sweep produces: one row per (type, op, size), each with the out-of-place and the
// in-place measurement, as nccl-tests reports them. Shared by the table, the JSON and compare.
import type { VersusTime } from './versus.js';

export interface Measurement {
  /** Microseconds per call, after combining the ranks' times by the -a mode. */
  readonly timeUs: number;
  readonly algbw: number;
  readonly busbw: number;
  /** Wrong elements summed over all ranks; undefined when checking was off (-c 0). */
  readonly wrong: number | undefined;
}

export interface ResultRow {
  /** The message size nccl-tests prints: the larger of the send and receive buffers of one rank. */
  readonly bytes: number;
  /** Elements per rank as passed to the call. */
  readonly count: number;
  /** nccl-tests' type name ("float", "half", ...). */
  readonly type: string;
  /** The op, or "none" for collectives that do not reduce. */
  readonly redop: string;
  /** The root, or -1 for collectives without one. */
  readonly root: number;
  readonly outOfPlace: Measurement;
  readonly inPlace: Measurement;
  /** With -Z: what the codec put on the wire and what it cost in accuracy (table.ts's extra columns). */
  readonly compression?: CompressionFigures;
  /** --versus: each named algorithm's out-of-place time, timed in turns with the out-of-place column's calls (versus.ts). */
  readonly versus?: readonly VersusTime[];
  /** The algorithm the communicator runs for the row's calls (auto's choice, or --algo's); undefined where the collective has no choice. */
  readonly runs?: string;
  /** The cost model's time per call in microseconds (bench/perf/prediction.ts); undefined where it has no formula. */
  readonly predictedUs?: number;
}

export interface CompressionFigures {
  /** Payload bytes one rank handed to its transport per call (the communicator's count; max over ranks). */
  readonly wireBytes: number;
  /** max over elements, ranks and placements of |result - exact| / max(1, |exact|). */
  readonly maxRelError: number;
}

/** nccl-tests' "# Avg bus bandwidth": the mean busbw over every measurement, both columns. */
export function averageBusBandwidth(rows: readonly ResultRow[]): number {
  if (rows.length === 0) return 0;
  const total = rows.reduce((sum, row) => sum + row.outOfPlace.busbw + row.inPlace.busbw, 0);
  return total / (2 * rows.length);
}

export function totalWrong(rows: readonly ResultRow[]): number {
  return rows.reduce((sum, row) => sum + (row.outOfPlace.wrong ?? 0) + (row.inPlace.wrong ?? 0), 0);
}
