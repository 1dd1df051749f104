// Ranks of one simulated world on a fake clock (ms), each its own CalibrationComm, advanced event
// by event: a collective ends when the cost model says, given when each rank joined it, so the
// ranks of a call join at different times, as back-to-back calls make them (unlike
// tune-calibrate-sim's single rank standing for the world). Used by tune-calibrate-stream (the
// direct exchange's late rank, which only folds) and tune-calibrate-spread (ranks that leave
// each call at scattered times, as 8 ranks on 2 cores do).
import type { CalibrationComm } from '../../lib/tune/calibrate.js';
import { predictSeconds, type ModelCall } from '../../lib/tune/model.js';
import type { CostParams } from '../../lib/tune/params.js';

export const SIM_CHUNK = 1 << 20;
export const simCall = (bytes: number, ranks: number): ModelCall => ({ collective: 'allReduce', bytes, ranks, chunkBytes: SIM_CHUNK });

interface Joined {
  readonly rank: number;
  readonly at: number;
  readonly resolve: (values?: Float32Array) => void;
  readonly algorithm?: string;
  readonly bytes?: number;
  readonly values?: Float32Array;
  /** An allGather (every rank's values in rank order), not a maxAll. */
  readonly gather?: boolean;
}

export interface SimOptions {
  /**
   * Where set, the direct exchange is one hop whose ranks share one CPU for their folds: each
   * rank's bytes arrive when its peers have joined, then the folds, this share of the call's link
   * time together, take the CPU one rank at a time (ranks in one process).
   */
  readonly directFoldShare?: number;
  /** Milliseconds rank `rank` leaves its `call`-th collective (maxAll and allGather too) after the collective ends (default 0). */
  readonly leaveMs?: (rank: number, call: number) => number;
}

export class SimRanks {
  clockMs = 0;
  private readonly calls: Joined[][] = [];
  private readonly joinedCount: number[];
  private readonly events: { at: number; run: () => void }[] = [];
  private cpuFreeMs = 0;
  private stepping = false;
  private idleChecks = 0;

  constructor(readonly size: number, private readonly truth: CostParams, private readonly options: SimOptions = {}) {
    this.joinedCount = new Array<number>(size).fill(0);
  }

  comm(rank: number): CalibrationComm {
    return {
      rank, size: this.size, chunkBytes: SIM_CHUNK,
      allReduce: (data, algorithm) => new Promise<void>((resolve) => this.join({ rank, at: this.clockMs, resolve: () => resolve(), algorithm, bytes: data.byteLength })),
      maxAll: (values) => new Promise<Float32Array>((resolve) => this.join({ rank, at: this.clockMs, resolve: (v) => resolve(v!), values })),
      allGather: (values) => new Promise<Float32Array>((resolve) => this.join({ rank, at: this.clockMs, resolve: (v) => resolve(v!), values, gather: true })),
    };
  }

  /** Runs `run` on every rank at once with performance.now on this world's clock; its results in rank order. */
  async onClock<T>(run: (comm: CalibrationComm) => Promise<T>): Promise<T[]> {
    const now = Object.getOwnPropertyDescriptor(performance, 'now');
    Object.defineProperty(performance, 'now', { value: () => this.clockMs, configurable: true, writable: true });
    try {
      return await Promise.all(Array.from({ length: this.size }, (_, rank) => run(this.comm(rank))));
    } finally {
      if (now) Object.defineProperty(performance, 'now', now);
      else delete (performance as { now?: unknown }).now;
    }
  }

  private join(joined: Joined): void {
    const index = this.joinedCount[joined.rank]!++;
    const ranks = (this.calls[index] ??= []);
    ranks.push(joined);
    if (ranks.length === this.size) this.schedule(ranks.sort((a, b) => a.rank - b.rank), index);
    if (!this.stepping) {
      this.stepping = true;
      setImmediate(() => this.step());
    }
  }

  /** Every rank has joined its `index`-th collective: when each leaves. */
  private schedule(ranks: Joined[], index: number): void {
    const leave = (r: Joined, at: number, value?: Float32Array) => this.events.push({ at: at + (this.options.leaveMs?.(r.rank, index) ?? 0), run: () => r.resolve(value && Float32Array.from(value)) });
    const last = Math.max(...ranks.map((r) => r.at));
    if (ranks[0]!.values) {
      const result = ranks[0]!.gather ? Float32Array.from(ranks.flatMap((r) => [...r.values!])) : ranks[0]!.values.map((_, i) => Math.max(...ranks.map((r) => r.values![i]!)));
      for (const r of ranks) leave(r, last, result);
      return;
    }
    const t = 1e3 * predictSeconds(ranks[0]!.algorithm!, simCall(ranks[0]!.bytes!, this.size), this.truth)!;
    const share = this.options.directFoldShare;
    if (ranks[0]!.algorithm !== 'direct' || share === undefined) {
      // Steps that wait on each other: the call ends its time after the last joined.
      for (const r of ranks) leave(r, last + t);
      return;
    }
    const fold = (share * 1e3 * (this.size - 1) * ranks[0]!.bytes! * this.truth.beta) / this.size;
    // Each rank's bytes arrive t - fold after it joined (not before their receiver joined), then the folds take the CPU in turn.
    const arrivals = ranks.map((r) => ({ r, at: Math.max(r.at, Math.max(...ranks.filter((p) => p !== r).map((p) => p.at)) + t - fold) }));
    for (const { r, at } of arrivals.sort((a, b) => a.at - b.at || a.r.rank - b.r.rank)) {
      this.cpuFreeMs = Math.max(at, this.cpuFreeMs) + fold;
      leave(r, this.cpuFreeMs);
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
