// A registered buffer cut into equal slots (Node only): the staging an shm channel sends frames
// from and receives them into. Registered once (ibv_reg_mr is costly, so is ours: it publishes
// the region to every endpoint), handed out slot by slot, first come first served.
import type { ShmContext } from '../../native/shm.js';

/** Slots start on cache-line boundaries, so that payload copies out of them run aligned. */
const SLOT_ALIGNMENT = 64;

export class SlotPool {
  readonly key: number;
  private readonly stride: number;
  private readonly memory: Uint8Array;
  private readonly free: number[];
  private readonly waiters: { resolve(slot: number): void; reject(error: Error): void }[] = [];
  private closedWith: Error | undefined;

  constructor(context: ShmContext, private readonly slots: number, slotBytes: number) {
    this.stride = Math.ceil(slotBytes / SLOT_ALIGNMENT) * SLOT_ALIGNMENT;
    this.memory = new Uint8Array(this.stride * slots);
    this.key = context.registerMemory(this.memory);
    this.free = Array.from({ length: slots }, (_, slot) => slot);
  }

  offset(slot: number): number {
    return slot * this.stride;
  }

  view(slot: number): Uint8Array {
    return this.memory.subarray(this.offset(slot), this.offset(slot) + this.stride);
  }

  /** No slot is taken and nobody waits for one. */
  get idle(): boolean {
    return this.free.length === this.slots && this.waiters.length === 0;
  }

  /** A free slot, as soon as there is one. */
  acquire(): Promise<number> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const slot = this.free.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  release(slot: number): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(slot);
    else this.free.push(slot);
  }

  /** Fails every waiter and later acquire (the memory stays registered until its context is destroyed). */
  close(error: Error): void {
    this.closedWith = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}
