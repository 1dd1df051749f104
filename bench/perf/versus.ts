// --versus: the run's own algorithm and the ones named, timed on the same ranks in turns, so
// that "auto against the best fixed choice" is one run's comparison. Timed in separate runs,
// the columns came from separate processes whose times moved 10-40% between runs, more than the
// differences they were to show (docs/PERFORMANCE.md, tune30). A turn is a barrier, one untimed
// call, then -n calls back to back (or --turn-ms's worth), as nccl-tests times them; each round
// gives every contender one turn, in an
// order balanced over the rounds so that each follows every other equally often (a schedule's
// calls unsettle the next one's, fresh29; lib/tune/turn-order.ts); each contender's time is its median turn's, so a round that met a
// burst of the machine's load counts once.
import { median } from '../../lib/tune/median.js';
import { callInTurn } from './calls.js';
import { timeTurns } from '../../lib/tune/turn-order.js';
import { blockCalls, PACE_CALLS, quickestCalls } from '../../lib/tune/measure-choices.js';

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

/**
 * Runs `rounds` rounds of one turn per contender (lib/tune/turn-order.ts's timeTurns: an untimed
 * call, then `turnCalls[i]` timed calls back to back), each turn after a barrier (so that its
 * time includes no late peer's arrival). Every contender's calls read the bytes sent around
 * them, so that none pays more per call; the first's (every call of one sends the same) give the
 * wire column.
 */
export async function raceInTurns(
  calls: readonly (() => Promise<void>)[], rounds: number, turnCalls: readonly number[],
  comm: { barrier(): Promise<void>; bytesSent(): number },
): Promise<Race> {
  let firstBytes = 0;
  let firstCalls = 0;
  const counted = calls.map((call, c) => async () => {
    const sentBefore = comm.bytesSent();
    await call();
    const sent = comm.bytesSent() - sentBefore;
    if (c === 0) {
      firstBytes += sent;
      firstCalls++;
    }
  });
  const turns = await timeTurns(counted, turnCalls, rounds, () => performance.now(), { beforeTurn: () => comm.barrier(), repeat: callInTurn });
  return { medianUs: turns.map((ms) => median(ms) * 1000), firstBytesPerCall: firstCalls > 0 ? Math.round(firstBytes / firstCalls) : 0 };
}

/** The most calls a --turn-ms turn makes: 100 ms of the quickest calls seen (2 shm ranks' board, 1-2 µs). */
export const MAX_TURN_CALLS = 100_000;

/**
 * --turn-ms: each contender's calls per turn, as many as fill `turnMs` at its own pace: the
 * quickest of PACE_CALLS timed calls on each rank (one call alone was once 10x its pace, and
 * gave a 2 MiB call turns of 9 ms), the slowest rank's, so that every rank computes the same
 * counts. On 4 tcp processes sharing 2 vCPUs, turns of 8 ms (20 calls of 400 µs) put one
 * schedule's two columns 0.67-1.24x apart; turns of 80 ms 0.87-1.10x: a turn shorter than a
 * few of the scheduler's time slices times who ran when.
 */
export async function callsFilling(comm: { allGather(values: Float32Array): Promise<Float32Array>; readonly size: number }, calls: readonly (() => Promise<void>)[], turnMs: number): Promise<number[]> {
  const mine = await quickestCalls(calls, PACE_CALLS, () => performance.now());
  const all = await comm.allGather(Float32Array.from(mine, (seconds) => seconds * 1000));
  return calls.map((_, i) => {
    const slowest = Math.max(...Array.from({ length: comm.size }, (_, r) => all[r * calls.length + i]!));
    return blockCalls(Math.max(slowest, 1e-3), turnMs, MAX_TURN_CALLS);
  });
}

/** The out-of-place time over the fastest contender's (under 1: the run's own algorithm was faster than every one named). */
export function versusRatio(timeUs: number, versus: readonly VersusTime[]): number | undefined {
  if (versus.length === 0) return undefined;
  const best = fastest(versus).timeUs;
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
