// How calibration turns each rank's own figure for a run into the one figure every rank agrees
// on: the median over the ranks (what webccl-perf's time averages over them, robust where one
// rank alone is off), not the fastest rank's as before session 17.
//
// webccl-perf (and nccl-tests) times a call as each rank's stream of calls after a barrier,
// averaged over the ranks (bench/perf/sweep.ts, combine.ts: -a 1). The fastest rank's figure
// left out what the others waited: at 8 shm ranks on 2 cores, its few-byte and mid-size block
// figures came out 0.83x and 0.70x what webccl-perf then measured (geometric mean over 3
// calibrations, 24 points), the median rank's 0.95x and 0.82x (docs/PERFORMANCE.md, slow21).
// The slowest rank's overshot where one rank alone stalled (1.17x at few bytes).

/** The median (of an even count, the mean of the middle two). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const half = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[half]! : (sorted[half - 1]! + sorted[half]!) / 2;
}

/** What the agreement needs of the ranks: every rank's values, in rank order, alike on every rank. */
export interface RankGather {
  readonly size: number;
  allGather(values: Float32Array): Promise<Float32Array>;
}

/**
 * The median over the ranks of each of `own` (this rank's figures, every rank giving as many in
 * the same order): the same numbers on every rank, since every rank takes them from one gather.
 */
export async function medianOverRanks(comm: RankGather, own: readonly number[]): Promise<number[]> {
  const k = own.length;
  const all = await comm.allGather(Float32Array.from(own));
  if (all.length !== k * comm.size) throw new Error(`calibration's gather returned ${all.length} values for ${comm.size} ranks of ${k}`);
  return own.map((_, i) => median(Array.from({ length: comm.size }, (_, rank) => all[rank * k + i]!)));
}
