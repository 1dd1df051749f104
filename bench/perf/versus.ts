// --versus: the run's own algorithm and the ones named, timed on the same ranks in turns, so
// that "auto against the best fixed choice" is one run's comparison. Timed in separate runs,
// the columns came from separate processes whose times moved 10-40% between runs, more than the
// differences they were to show (docs/PERFORMANCE.md, tune30). A turn is -n calls back to back
// after a barrier, as nccl-tests times them; each round gives every contender one turn, the order
// turned by one each round so that none always follows the same one (a schedule's calls unsettle
// the next one's, fresh29); each contender's time is its median turn's, so a round that met a
// burst of the machine's load counts once.
import { median } from '../../lib/tune/median.js';
import { callInTurn } from './calls.js';

/** A contender's median round: microseconds per call. */
export interface VersusTime {
  readonly algorithm: string;
  readonly timeUs: number;
}

export interface Race {
  /** Per contender, in the order given: its median turn's microseconds per call. */
  readonly medianUs: number[];
  /** Payload bytes per call handed to the transport in the first contender's turns (the wire column). */
  readonly firstBytesPerCall: number;
}

/** Which contender takes the `turn`-th turn of round `round` (of `count`): the order turned by one each round. */
export function turnOrder(round: number, turn: number, count: number): number {
  return (round + turn) % count;
}

/**
 * Runs `rounds` rounds of one turn of `iters` calls per contender, every rank the same order
 * (their calls must match), a barrier before each turn so that no turn's time includes a late
 * peer's arrival.
 */
export async function raceInTurns(
  calls: readonly (() => Promise<void>)[], rounds: number, iters: number,
  comm: { barrier(): Promise<void>; bytesSent(): number },
): Promise<Race> {
  const turns: number[][] = calls.map(() => []);
  let firstBytes = 0;
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < calls.length; turn++) {
      const who = turnOrder(round, turn, calls.length);
      await comm.barrier();
      const sentBefore = comm.bytesSent();
      const started = performance.now();
      await callInTurn(calls[who]!, iters);
      turns[who]!.push(((performance.now() - started) * 1000) / iters);
      if (who === 0) firstBytes += comm.bytesSent() - sentBefore;
    }
  }
  return { medianUs: turns.map(median), firstBytesPerCall: Math.round(firstBytes / (rounds * iters)) };
}

/** The out-of-place time over the fastest contender's (under 1: the run's own algorithm was faster than every one named). */
export function versusRatio(timeUs: number, versus: readonly VersusTime[]): number | undefined {
  if (versus.length === 0) return undefined;
  const best = Math.min(...versus.map((v) => v.timeUs));
  return best > 0 ? timeUs / best : undefined;
}

/** The fastest named algorithm of a row. */
function fastest(versus: readonly VersusTime[]): VersusTime {
  return versus.reduce((a, b) => (b.timeUs < a.timeUs ? b : a));
}

/**
 * The line under the table: how the run's algorithm fared against the fastest named one over
 * the sizes. A miss where the run's calls ran that very algorithm (`runs`) is the noise between
 * turns of one schedule, not a wrong choice: it is counted apart.
 */
export function versusSummary(algorithm: string, rows: readonly { bytes: number; outOfPlace: { timeUs: number }; versus?: readonly VersusTime[]; runs?: string }[]): string[] {
  const ratios = rows.flatMap((row) => {
    const ratio = versusRatio(row.outOfPlace.timeUs, row.versus ?? []);
    return ratio === undefined ? [] : [{ ratio, bytes: row.bytes, same: row.runs === fastest(row.versus!).algorithm }];
  });
  if (ratios.length === 0) return [];
  const worst = ratios.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  const misses = ratios.filter((r) => r.ratio > 1.1);
  const names = rows.find((row) => row.versus !== undefined)!.versus!.map((v) => v.algorithm).join(', ');
  return [
    `# versus: ${algorithm}'s out-of-place time / the fastest of ${names}, over ${ratios.length} sizes: median ${median(ratios.map((r) => r.ratio)).toFixed(2)}, `
    + `within 1.10 at ${ratios.length - misses.length} (of the ${misses.length} others, ${misses.filter((r) => r.same).length} ran the fastest one's algorithm), worst ${worst.ratio.toFixed(2)} at ${worst.bytes} B`,
  ];
}
