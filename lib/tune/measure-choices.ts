// Choosing by measurement (FFTW's MEASURE, cuDNN's benchmark mode, Horovod's autotune): for each
// call shape a program has made, time what it ran and the algorithms the cost model ranks nearest
// its pick on the world itself, in the process as it runs now, and keep the fastest. The model's parameters
// come from a calibration of a few seconds made early in a process's life; V8 compiles a
// schedule's per-message code over the first thousands of calls (docs/PERFORMANCE.md, tier30),
// and timings move from day to day, so its near ties can fall either way by 10-50%. Timing the
// candidates later, on the program's own sizes, settles them.
//
// Every rank times every candidate (the same calls in the same order: they are collective), then
// all take the largest of each candidate's median over the ranks (a call is as slow as its
// slowest rank) and the least of those: the same figures, so the same choice, on every rank.
import { median } from './median.js';
import { timeTurns } from './turn-order.js';

/** One call shape to time: its candidates, fastest first as the model prices them. */
export interface ShapeToMeasure<Shape> {
  readonly shape: Shape;
  readonly candidates: readonly string[];
  /** The model's price of the fastest candidate: sizes the timed blocks where no call is made before them (warmCalls 0; absent: one call a block). */
  readonly predictedSeconds?: number;
}

/** What measuring needs of a communicator (lib/comm/tuned-calls.ts adapts one). */
export interface MeasuringComm<Shape> {
  /** Runs one call of `shape` with the named algorithm on every rank; resolves when this rank's part is done. */
  run(shape: Shape, algorithm: string): Promise<void>;
  /** Element-wise maximum of every rank's `values` (the same result on every rank). */
  maxAll(values: Float32Array): Promise<Float32Array>;
  /** A clock in milliseconds (performance.now; tests give their own). */
  now(): number;
}

export interface MeasureOptions {
  /**
   * Calls of each candidate before the timed rounds (default: one block's). The first
   * PACE_CALLS of each are timed one by one to size its blocks: its quickest, the largest over
   * the ranks (agreed, so every rank makes as many calls), as the model's price can be 10–50x
   * off without a tuning file (the README's lavapipe job: 0.2 against 6–16 ms).
   */
  readonly warmCalls?: number;
  /** Timed rounds; each times a block of every candidate's calls, in the order of turn-order.ts, balanced over the rounds (default 5). */
  readonly rounds?: number;
  /**
   * How long a timed block should take (default 50 ms): a block is one untimed call and then as
   * many as fill it back to back (1 to MAX_BLOCK_CALLS), as a loop repeats one call. Calls timed
   * one at a time, each after another schedule's, took about twice what the same calls took back
   * to back (4 tcp processes, 32–512 KiB); with 5 ms blocks, a 17% gap at 512 KiB went the wrong
   * way in 1 of 2 sweeps (docs/PERFORMANCE.md, tune30); with 20 ms blocks 2 ntcp processes' 256
   * KiB ring timed 1.8x the tree, the same in webccl-perf --versus's 100 ms turns, and the direct
   * exchange, 2.2x slower there, was kept in 1 of 2 sweeps (versus31).
   */
  readonly blockSeconds?: number;
}

export const DEFAULT_ROUNDS = 5;
export const DEFAULT_BLOCK_SECONDS = 0.05;
/** The most calls in a block: 50 ms of the quickest calls seen (2 shm ranks' board, 1-2 µs). */
export const MAX_BLOCK_CALLS = 50_000;
/** Calls of each candidate timed one by one to find its pace (its quickest counts: a first call can be 10x the next). */
export const PACE_CALLS = 3;

/**
 * Calls a timed block makes, from the time a call takes (the same on every rank where those are
 * agreed): as many as fill `blockTime` (in the same unit), 1 to `most`.
 */
export function blockCalls(callTime: number | undefined, blockTime: number, most = MAX_BLOCK_CALLS): number {
  if (callTime === undefined || !(callTime > 0)) return 1;
  return Math.min(most, Math.max(1, Math.ceil(blockTime / callTime)));
}

export interface MeasuredChoice<Shape> {
  readonly shape: Shape;
  /** The fastest candidate by the agreed medians (a tie goes to the earlier candidate). */
  readonly algorithm: string;
  /** Each candidate's agreed median seconds per call, in the candidates' order. */
  readonly seconds: ReadonlyArray<{ readonly algorithm: string; readonly seconds: number }>;
}

/** Each of `calls` made `paceCalls` times one by one: the quickest of each, in seconds (`now` in ms). */
export async function quickestCalls(calls: readonly (() => Promise<void>)[], paceCalls: number, now: () => number): Promise<number[]> {
  const quickest = calls.map(() => Infinity);
  for (const [c, call] of calls.entries()) {
    for (let i = 0; i < paceCalls; i++) {
      const started = now();
      await call();
      quickest[c] = Math.min(quickest[c]!, (now() - started) / 1000);
    }
  }
  return quickest;
}

/**
 * Each candidate's calls per block: from its quickest of `paceCalls` calls timed one by one, the
 * slowest rank's; with no calls to time, the model's price of the fastest candidate for all.
 */
async function blockSizes<Shape>(comm: MeasuringComm<Shape>, shape: Shape, candidates: readonly string[], paceCalls: number, blockSeconds: number, predictedSeconds: number | undefined): Promise<number[]> {
  if (paceCalls === 0) return candidates.map(() => blockCalls(predictedSeconds, blockSeconds));
  const quickest = await quickestCalls(candidates.map((algorithm) => () => comm.run(shape, algorithm)), paceCalls, () => comm.now());
  const agreed = await comm.maxAll(Float32Array.from(quickest));
  return candidates.map((_, c) => blockCalls(agreed[c], blockSeconds));
}

/**
 * Times the candidates of each shape and returns the agreed choice of each, in order. Shapes with
 * fewer than two candidates are left out (nothing to choose). Every rank must pass the same
 * shapes and candidates, in the same order.
 */
export async function measureChoices<Shape>(comm: MeasuringComm<Shape>, shapes: readonly ShapeToMeasure<Shape>[], options: MeasureOptions = {}): Promise<MeasuredChoice<Shape>[]> {
  const rounds = Math.max(1, options.rounds ?? DEFAULT_ROUNDS);
  const blockSeconds = options.blockSeconds ?? DEFAULT_BLOCK_SECONDS;
  const chosen: MeasuredChoice<Shape>[] = [];
  for (const { shape, candidates, predictedSeconds } of shapes) {
    if (candidates.length < 2) continue;
    const paceCalls = Math.min(PACE_CALLS, options.warmCalls ?? PACE_CALLS);
    const blocks = await blockSizes(comm, shape, candidates, paceCalls, blockSeconds, predictedSeconds);
    for (const [c, algorithm] of candidates.entries()) {
      for (let i = paceCalls; i < (options.warmCalls ?? blocks[c]!); i++) await comm.run(shape, algorithm);
    }
    // Blocks in turns balanced over the rounds, each opened by an untimed call (turn-order.ts).
    const samples = await timeTurns(candidates.map((algorithm) => () => comm.run(shape, algorithm)), blocks, rounds, () => comm.now());
    const agreed = await comm.maxAll(Float32Array.from(samples, (ms) => median(ms) / 1000));
    let best = 0;
    for (let c = 1; c < candidates.length; c++) if (agreed[c]! < agreed[best]!) best = c;
    chosen.push({ shape, algorithm: candidates[best]!, seconds: candidates.map((algorithm, c) => ({ algorithm, seconds: agreed[c]! })) });
  }
  return chosen;
}

/**
 * The candidates worth timing: `incumbent` (what the call ran before: tuning never leaves it
 * untimed, so it cannot choose worse than it without seeing so) first, then the model's within
 * `margin` times its fastest price, in its order, at most `most` in all.
 */
export function nearestCandidates(ranked: ReadonlyArray<{ readonly algorithm: string; readonly seconds: number }>, margin: number, most: number, incumbent?: string): string[] {
  const fastest = ranked[0];
  const near = fastest === undefined ? [] : ranked.filter((c) => c.seconds <= fastest.seconds * margin).map((c) => c.algorithm);
  return (incumbent === undefined ? near : [incumbent, ...near.filter((name) => name !== incumbent)]).slice(0, most);
}
