// Fault injection on a datagram path (the switch's `--drop/--dup/--reorder`, and the worker's
// test hook): each datagram is dropped with probability `drop`, else delivered, a second time
// with probability `dup`, and held back 1-4 ms (so later ones overtake it) with probability
// `reorder`. A seeded generator makes a failing run reproducible.
import { invalidArgument } from '../errors.js';

export interface FaultOptions {
  readonly drop?: number;
  readonly dup?: number;
  readonly reorder?: number;
  readonly seed?: number;
}

export interface FaultCounters { dropped: number; duplicated: number; reordered: number }

export class FaultInjector {
  readonly counters: FaultCounters = { dropped: 0, duplicated: 0, reordered: 0 };
  private readonly drop: number;
  private readonly dup: number;
  private readonly reorder: number;
  private state: number;
  private readonly isActive: boolean;
  private readonly held = new Set<ReturnType<typeof setTimeout>>();

  constructor(options: FaultOptions = {}) {
    this.drop = probability('drop', options.drop);
    this.dup = probability('dup', options.dup);
    this.reorder = probability('reorder', options.reorder);
    this.state = (options.seed ?? 0x2545f491) >>> 0 || 1;
    this.isActive = this.drop > 0 || this.dup > 0 || this.reorder > 0;
  }

  get active(): boolean {
    return this.isActive;
  }

  /** Runs `deliver` zero, one or two times, now or a little later. */
  pass(deliver: () => void): void {
    // Without faults (every call but the tests'), no draws: a worker passes each datagram here twice.
    if (!this.isActive) return deliver();
    if (this.random() < this.drop) {
      this.counters.dropped++;
      return;
    }
    const copies = this.random() < this.dup ? 2 : 1;
    if (copies === 2) this.counters.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (this.random() < this.reorder) {
        this.counters.reordered++;
        const timer = setTimeout(() => { this.held.delete(timer); deliver(); }, 1 + Math.floor(this.random() * 4));
        this.held.add(timer);
      } else deliver();
    }
  }

  /**
   * pass() for a received datagram whose bytes are only valid during the call (a native socket's
   * reused batch buffer, worker-datagrams.ts): with faults, delivered from a copy, which one
   * held back still has after the buffer is reused (faults are a test's, so the copy costs nothing
   * that matters).
   */
  passBytes(bytes: Uint8Array, deliver: (bytes: Uint8Array) => void): void {
    if (!this.isActive) return deliver(bytes);
    const copy = bytes.slice();
    this.pass(() => deliver(copy));
  }

  /** Forgets held datagrams (on close, so no timer outlives the socket). */
  clear(): void {
    for (const timer of this.held) clearTimeout(timer);
    this.held.clear();
  }

  /** xorshift32 in [0, 1). */
  private random(): number {
    let x = this.state;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.state = x;
    return x / 2 ** 32;
  }
}

function probability(name: string, value: number | undefined): number {
  const p = value ?? 0;
  if (!(p >= 0 && p <= 1)) throw invalidArgument(`fault probability --${name} ${String(value)} is not in [0, 1]`);
  return p;
}
