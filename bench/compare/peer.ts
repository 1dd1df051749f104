// What every contestant of the comparison produces: a time per allreduce for each size, or the
// reason it could not be measured (reported by name, never dropped).

import type { SizeSweep } from '../perf/sizes.js';

/** The allreduce sweep every contestant runs: float32 sum, in place, CPU memory; sizes step by a factor. */
export interface CompareSweep extends SizeSweep {
  readonly ranks: number;
  readonly iters: number;
  readonly warmup: number;
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
