// Host scratch memory reused across calls. A float32 switch call borrows an int32 array of the
// call's size (and one exponent per block) every time; a new 16 MiB Uint8Array per call cost
// its zero-fill, a page fault per page on first write, and a major garbage collection every few
// calls (a CPU profile of webccl-perf --algo switch -b 16M on 4 ranks: ~48 ms of GC per call
// and rank). Sizes are rounded up to a power of two, as the GPU's BufferPool does, so that a
// freed array serves every later request of its class: calls of different sizes share them.
//
// Arrays handed out are not zeroed (a reused one holds the last call's bytes, as GPU scratch
// does): every user writes its scratch before it reads it.

/** Free arrays kept at most, in bytes: beyond it, a released array is left to the collector. */
export const MAX_RETAINED_BYTES = 256 * 1024 * 1024;

/** The smallest class: small requests share one size instead of a class each. */
const MIN_CLASS_BYTES = 256;

export class HostScratchPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** The views handed out, each to the buffer it must return to. */
  private lent = new WeakMap<Uint8Array, ArrayBuffer>();
  private retained = 0;
  /** How many arrays this pool ever allocated (tests check that calls reuse them). */
  created = 0;

  constructor(private readonly maxRetained = MAX_RETAINED_BYTES) {}

  /** Bytes kept for later calls (free arrays). */
  get retainedBytes(): number {
    return this.retained;
  }

  /** `bytes` bytes, 4-byte aligned (a fresh ArrayBuffer's start), whose contents are undefined. */
  acquire(bytes: number): Uint8Array {
    const size = 2 ** Math.ceil(Math.log2(Math.max(MIN_CLASS_BYTES, bytes)));
    let buffer = this.free.get(size)?.pop();
    if (buffer !== undefined) this.retained -= size;
    else {
      buffer = new ArrayBuffer(size);
      this.created++;
    }
    const view = new Uint8Array(buffer, 0, bytes);
    this.lent.set(view, buffer);
    return view;
  }

  /** Takes back a view acquire() handed out (a second release of the same view is ignored). */
  release(view: Uint8Array): void {
    const buffer = this.lent.get(view);
    if (buffer === undefined) return;
    this.lent.delete(view);
    // A transferred buffer (detached: its length is 0) cannot be reused.
    if (buffer.byteLength === 0 || this.retained + buffer.byteLength > this.maxRetained) return;
    const list = this.free.get(buffer.byteLength);
    if (list) list.push(buffer);
    else this.free.set(buffer.byteLength, [buffer]);
    this.retained += buffer.byteLength;
  }

  /** Drops every free array (the communicator's destroy); arrays still lent are not taken back. */
  clear(): void {
    this.free.clear();
    this.lent = new WeakMap();
    this.retained = 0;
  }
}
