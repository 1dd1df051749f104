// Calibration on a simulated world of several ranks, each its own CalibrationComm, on one fake
// clock advanced event by event: unlike tune-calibrate-sim's single rank standing for the world,
// the ranks of a call join at different times, as back-to-back calls make them. The direct
// exchange is one hop: each rank sends its whole buffer when it joins, so a rank that joins late
// finds its peer's bytes already there and only folds them. Its ranks share one CPU for the
// folds (ranks in one process, as bench/tune-sweep.ts and webccl-perf --transport inproc run
// them), so one rank's fold waits for the other's: calls in a row alternate which rank leaves
// first, and each call of a rank that left first and joins first is short by a fold (2 shm
// ranks at 512 KiB: 0.6 ms such calls in a stream of 1.3 ms a call). A call's own time, taken
// as that rank's figure, priced the direct exchange's bytes at ~half of what its stream costs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BOARD_FEW_BLOCK_MOST, boardFewBlock, calibrate, type CalibrationComm } from '../lib/tune/calibrate.js';
import { predictSeconds, type ModelCall } from '../lib/tune/model.js';
import { DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';

const CHUNK = 1 << 20;
const call = (bytes: number, ranks: number): ModelCall => ({ collective: 'allReduce', bytes, ranks, chunkBytes: CHUNK });
/**
 * Share of the direct exchange's link time that its ranks' folds after the bytes arrive take
 * together (CPU work, one rank at a time; under 1, so that the link, not the CPU, sets the pace).
 */
const FOLD_SHARE = 0.8;

interface Joined {
  readonly rank: number;
  readonly at: number;
  readonly resolve: (values?: Float32Array) => void;
  readonly algorithm?: string;
  readonly bytes?: number;
  readonly values?: Float32Array;
}

/** Ranks of one world on a fake clock (ms): a collective ends when the model says, given when each rank joined it. */
class SimWorld {
  clockMs = 0;
  private readonly calls: Joined[][] = [];
  private readonly joinedCount: number[];
  private readonly events: { at: number; run: () => void }[] = [];
  private cpuFreeMs = 0;
  private stepping = false;
  private idleChecks = 0;

  constructor(readonly size: number, private readonly truth: CostParams) {
    this.joinedCount = new Array<number>(size).fill(0);
  }

  comm(rank: number): CalibrationComm {
    return {
      rank, size: this.size, chunkBytes: CHUNK,
      allReduce: (data, algorithm) => new Promise<void>((resolve) => this.join({ rank, at: this.clockMs, resolve: () => resolve(), algorithm, bytes: data.byteLength })),
      maxAll: (values) => new Promise<Float32Array>((resolve) => this.join({ rank, at: this.clockMs, resolve: (v) => resolve(v!), values })),
    };
  }

  private join(joined: Joined): void {
    const index = this.joinedCount[joined.rank]!++;
    const ranks = (this.calls[index] ??= []);
    ranks.push(joined);
    if (ranks.length === this.size) this.schedule(ranks.sort((a, b) => a.rank - b.rank));
    if (!this.stepping) {
      this.stepping = true;
      setImmediate(() => this.step());
    }
  }

  /** Every rank has joined: when each leaves. */
  private schedule(ranks: Joined[]): void {
    const last = Math.max(...ranks.map((r) => r.at));
    if (ranks[0]!.values) {
      const max = ranks[0]!.values.map((_, i) => Math.max(...ranks.map((r) => r.values![i]!)));
      for (const r of ranks) this.events.push({ at: last, run: () => r.resolve(Float32Array.from(max)) });
      return;
    }
    const t = 1e3 * predictSeconds(ranks[0]!.algorithm!, call(ranks[0]!.bytes!, this.size), this.truth)!;
    if (ranks[0]!.algorithm !== 'direct') {
      // Steps that wait on each other: everyone leaves together, the call's time after the last joined.
      for (const r of ranks) this.events.push({ at: last + t, run: () => r.resolve() });
      return;
    }
    const fold = (FOLD_SHARE * 1e3 * (this.size - 1) * ranks[0]!.bytes! * this.truth.beta) / this.size;
    // Each rank's bytes arrive t - fold after it joined (not before their receiver joined), then the folds take the CPU in turn.
    const arrivals = ranks.map((r) => ({ r, at: Math.max(r.at, Math.max(...ranks.filter((p) => p !== r).map((p) => p.at)) + t - fold) }));
    for (const { r, at } of arrivals.sort((a, b) => a.at - b.at || a.r.rank - b.r.rank)) {
      this.cpuFreeMs = Math.max(at, this.cpuFreeMs) + fold;
      this.events.push({ at: this.cpuFreeMs, run: () => r.resolve() });
    }
  }

  /** The earliest event (ties in their order), after every rank has run up to its next call. */
  private step(): void {
    if (this.events.length === 0) {
      const partial = this.calls.some((ranks) => ranks.length < this.size && ranks.length > 0);
      // A rank may be in a real-time pause (calibration's turns wait a few ms before timing host work): look again before calling it stuck.
      if (partial && this.idleChecks++ < 50) { setTimeout(() => this.step(), 5); return; }
      this.stepping = false;
      if (partial) throw new Error(`simulated world stuck: calls joined per rank ${this.joinedCount.join(', ')}`);
      return;
    }
    this.idleChecks = 0;
    let first = 0;
    this.events.forEach((e, i) => { if (e.at < this.events[first]!.at) first = i; });
    const [event] = this.events.splice(first, 1);
    this.clockMs = Math.max(this.clockMs, event!.at);
    event!.run();
    setImmediate(() => this.step());
  }
}

async function calibratedWorld(truth: CostParams, size: number): Promise<CostParams> {
  const world = new SimWorld(size, truth);
  const now = Object.getOwnPropertyDescriptor(performance, 'now');
  Object.defineProperty(performance, 'now', { value: () => world.clockMs, configurable: true, writable: true });
  try {
    const results = await Promise.all(Array.from({ length: size }, (_, rank) => calibrate(world.comm(rank))));
    return results[0]!.params;
  } finally {
    if (now) Object.defineProperty(performance, 'now', now);
    else delete (performance as { now?: unknown }).now;
  }
}

const truth: CostParams = { ...DEFAULT_COST_PARAMS, call: 30e-6, alpha: 80e-6, overhead: 20e-6, beta: 2e-9, gamma: 0 };
const near = (value: number, expected: number, what: string, tolerance: number) => assert.ok(Math.abs(value - expected) <= tolerance * expected, `${what}: ${value} vs ${expected}`);

test("2 ranks on one CPU whose direct exchange's late rank only folds: its curve and its mid-size calls are priced at the stream's per-call time", async () => {
  // 2 ranks: with more, folds serialised on one CPU hold up the sends of the ranks behind them, and the stream's period is no longer the model's time.
  const p = await calibratedWorld(truth, 2);
  assert.ok(p.betaCurves['direct']!.length >= 2, `direct curve: ${JSON.stringify(p.betaCurves['direct'])}`);
  for (const point of p.betaCurves['direct']!) near(point.beta, truth.beta, `direct at ${point.linkBytes}`, 0.02);
  for (const bytes of [32 << 10, 64 << 10]) near(predictSeconds('direct', call(bytes, 2), p)!, predictSeconds('direct', call(bytes, 2), truth)!, `direct at ${bytes} B`, 0.02);
  // The schedules whose ranks leave together are measured as before.
  for (const algorithm of ['ring', 'tree']) near(predictSeconds(algorithm, call(1 << 20, 2), p)!, predictSeconds(algorithm, call(1 << 20, 2), truth)!, `${algorithm} at 1 MiB`, 0.02);
});

test('the board\'s few-byte blocks: one untimed call and 1 ms of calls at the warm-up\'s pace, 4 timed at least, BOARD_FEW_BLOCK_MOST at most', () => {
  assert.is(boardFewBlock(5e-6), 1 + 200, '2 ranks\' µs calls: 200 of them');
  assert.is(boardFewBlock(70e-6), 1 + 15, '8 ranks\' 70 µs calls');
  assert.is(boardFewBlock(1e-3), 5, 'slow calls: 4 timed, as before');
  assert.is(boardFewBlock(1e-9), BOARD_FEW_BLOCK_MOST);
  assert.is(boardFewBlock(0), 5, 'no pace (no warm-up ran): 4 timed');
});

test.run();
