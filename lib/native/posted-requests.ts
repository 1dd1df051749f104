// The waiters of work requests posted to a provider, by work-request id (ibverbs' wr_id): a
// table of slots reused through a free list, each id a slot and that slot's generation. Not a
// Map that every post adds to and every completion deletes from: lib/pending-list.ts says what
// V8 makes of such a table (here, at 4 ntcp ranks' 8-byte allreduce: 40-45 KB promoted a
// scavenge, 6 KB with this one; docs/PERFORMANCE.md, nepotism47). A completion clears its slot.

/** Slots a table can hold at once: an id's low part. 2^20 pending posts, and 2^33 uses of a slot, stay below 2^53. */
const SLOT_RANGE = 1 << 20;

export class PostedRequests<T> {
  /** Each slot's waiter; undefined while the slot is free. */
  private readonly waiters: (T | undefined)[] = [];
  /** Each slot's generation, advanced on every use: an id names one post, never a later one of its slot. */
  private readonly generations: number[] = [];
  private readonly free: number[] = [];

  /** Holds `waiter` and returns its id (a positive integer). */
  add(waiter: T): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.waiters.length;
      if (slot === SLOT_RANGE) throw new RangeError(`more than ${SLOT_RANGE} posts pending at once`);
      this.waiters.push(undefined);
      this.generations.push(0);
    }
    const generation = this.generations[slot]! + 1;
    this.generations[slot] = generation;
    this.waiters[slot] = waiter;
    return generation * SLOT_RANGE + slot;
  }

  /** The waiter of `id`, no longer held; undefined for an id that is not pending (taken already, or never given). */
  take(id: number): T | undefined {
    const slot = id % SLOT_RANGE;
    if (!Number.isInteger(id) || slot >= this.waiters.length || this.generations[slot] !== (id - slot) / SLOT_RANGE) return undefined;
    const waiter = this.waiters[slot];
    if (waiter === undefined) return undefined;
    this.waiters[slot] = undefined;
    this.free.push(slot);
    return waiter;
  }

  /** Posts pending. */
  get size(): number {
    return this.waiters.length - this.free.length;
  }
}
