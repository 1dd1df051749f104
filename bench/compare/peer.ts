// What every contestant of the comparison produces: a time per call of the collective for each
// size, or the reason it could not be measured (reported by name, never dropped).

import { bufferLayout } from '../perf/layout.js';
import { sweepSizes, type SizeSweep } from '../perf/sizes.js';
import type { PerfCollective } from '../perf/names.js';

/** The collectives every peer that runs at all can time (Gloo's script: allreduce only). */
export const COMPARE_COLLECTIVES = ['allreduce', 'reducescatter', 'allgather', 'broadcast', 'reduce'] as const satisfies readonly PerfCollective[];
export type CompareCollective = typeof COMPARE_COLLECTIVES[number];

/** The sweep every contestant runs: `collective` on float32 (sum where it reduces, root 0), in place, CPU memory; sizes step by a factor. */
export interface CompareSweep extends SizeSweep {
  readonly collective: CompareCollective;
  readonly ranks: number;
  readonly iters: number;
  readonly warmup: number;
}

/**
 * The sizes the contestants report: webccl-perf's layout of each swept size (whole float32s, for
 * reducescatter and allgather a whole number per rank: 8 B at 4 ranks holds none and is left out).
 */
export function compareSizes(sweep: CompareSweep): number[] {
  const bytes = sweepSizes(sweep).map((size) => bufferLayout(sweep.collective, size, 'float32', sweep.ranks).bytes);
  return [...new Set(bytes.filter((size) => size > 0))];
}

export type PeerResult =
  | { readonly name: string; readonly timesUs: ReadonlyMap<number, number> }
  | { readonly name: string; readonly missing: string };

/** The peers print one JSON object per size, `{"bytes": B, "timeUs": T}`; other lines are ignored. */
export function parseTimingLines(lines: readonly string[]): Map<number, number> {
  const times = new Map<number, number>();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    const point = JSON.parse(line) as { bytes?: unknown; timeUs?: unknown };
    if (typeof point.bytes === 'number' && typeof point.timeUs === 'number') times.set(point.bytes, point.timeUs);
  }
  return times;
}
