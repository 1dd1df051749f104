// The sweep's host memory, reused from one measurement to the next as nccl-tests and the MPI
// peer do (they allocate once and time calls on the same buffers). Every measurement used to
// allocate its own TypedArrays (and its input), so each 16 MiB row left 48-64 MiB of garbage
// behind, and V8's collection of it (a mark-compact for the external memory, then sweeping on
// helper threads bound to the rank's CPU) landed in the next timed calls: one 10-20 ms call in
// twenty took a 2-rank 16 MiB allreduce from ~1.3 ms to ~3.3 ms a call on average
// (docs/PERFORMANCE.md, bw15). Plain arrays only: host buffers (--host-buffers) are the
// communicator's, allocated and freed as before.

/** ArrayBuffers handed out to placements and taken back, so that a row allocates nothing after the first of its size. */
export class HostArrays {
  private free: ArrayBuffer[] = [];

  /** A buffer of at least `bytes` bytes (the smallest free one that fits), contents unspecified. */
  take(bytes: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const length = this.free[i]!.byteLength;
      if (length >= bytes && (best < 0 || length < this.free[best]!.byteLength)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0]!;
    // A larger size than any kept: the smaller free ones would only pile up (an ascending sweep).
    this.free = this.free.filter((buffer) => buffer.byteLength >= bytes);
    return new ArrayBuffer(bytes);
  }

  /** `buffer` (from take) is no longer used by its placement. */
  give(buffer: ArrayBuffer): void {
    this.free.push(buffer);
  }
}
