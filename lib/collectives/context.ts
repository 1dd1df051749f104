// What a collective algorithm is given: who it is, how to move bytes to and from peers for
// the current call, and how to touch the data. Algorithms are pure schedules over these two
// interfaces: they never know whether bytes travel in-process or over a socket, nor whether
// the data lives in a TypedArray (reduced on the CPU) or a GPUBuffer (reduced in WGSL).

/** A span of elements the Memory knows how to reach. Opaque to algorithms but for its length. */
export interface Region {
  /** Number of elements. */
  readonly length: number;
}

/**
 * Data access and arithmetic for one call: the dtype and reduction op are bound by whoever
 * created it. Offsets and counts are in elements. Every method may be asynchronous (a GPU
 * works through a queue); results are visible to the next call that awaits them.
 */
export interface Memory {
  /** A copy of `count` elements at `at`, as bytes the caller owns (e.g. to send them). */
  read(source: Region, at: number, count: number): Promise<Uint8Array>;
  /**
   * `count` elements at `at` as bytes to send: the region's own memory where it can be sent
   * from directly (host arrays: no copy), else a copy. The caller must not change those
   * elements until the send has resolved, nor hand the bytes to anyone who keeps them.
   */
  outgoing(source: Region, at: number, count: number): Promise<Uint8Array>;
  /** Overwrites the elements at `at` with `bytes` (received from a peer). */
  write(target: Region, at: number, bytes: Uint8Array): Promise<void>;
  /** `target[at..] = target[at..] ⊕ bytes`: folds a peer's partial result into ours. */
  accumulate(target: Region, at: number, bytes: Uint8Array): Promise<void>;
  /**
   * The last step of a reduction, on the fully reduced elements this rank owns (NCCL does it
   * after reduce-scatter): avg divides by the rank count; other ops leave the data as it is.
   */
  finalize(target: Region, at: number, count: number): Promise<void>;
  /**
   * Optional batched form of a whole small reduction: `write(target, at, payloads[0])` when
   * `overwrite` (else payloads[0] is accumulated too), `accumulate` of each later payload in
   * order, then `finalize` over the `count` elements. Every payload holds `count` elements. Results
   * are bit-identical to those calls made one by one; a GPU memory records them all into one
   * submission instead of one round trip per step. Memories without it get the calls.
   */
  fold?(target: Region, at: number, count: number, payloads: readonly Uint8Array[], overwrite: boolean): Promise<void>;
}

/**
 * Messages of the current call. `peer` is a rank of the communicator; `tag` tells apart the
 * messages one rank sends another within the call, so several chunk pipelines may run at
 * once. Every (sender, receiver, tag) is used at most once per call.
 */
export interface Link {
  send(peer: number, tag: number, payload: Uint8Array): Promise<void>;
  recv(peer: number, tag: number): Promise<Uint8Array>;
  /**
   * The algorithm is done with bytes recv returned: written, folded in, and forwarded by sends
   * that have resolved. Their memory may then serve a later message, so they must not be
   * touched again. Never calling it is safe (the memory is then garbage-collected).
   */
  release(payload: Uint8Array): void;
}

export interface CollectiveContext {
  readonly rank: number;
  readonly size: number;
  readonly link: Link;
  readonly memory: Memory;
  /** Elements per pipelined message, agreed by every rank (a multiple of `alignElements`). */
  readonly chunkElements: number;
  /**
   * Segment boundaries chosen by an algorithm are multiples of this many elements, so that
   * every chunk but a buffer's last starts on a 16-byte boundary (GPU copies need 4).
   */
  readonly alignElements: number;
  /** How many chunk pipelines an algorithm keeps in flight at once. */
  readonly pipelineDepth: number;
}
