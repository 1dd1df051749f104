// What a collective algorithm is given: who it is, how to move bytes to and from peers for
// the current call, and how to touch the data. Algorithms are pure schedules over these two
// interfaces: they never know whether bytes travel in-process or over a socket, nor whether
// the data lives in a TypedArray (reduced on the CPU) or a GPUBuffer (reduced in WGSL).
// The data side (Region, Memory) is the memory seam of lib/memory, shared with the adapters.
import type { Aggregation } from '../memory/aggregator.js';
import type { Landing, Memory } from '../memory/memory.js';
import type { BoardBinding } from '../transport/board.js';

export type { Landing, Memory, Region } from '../memory/memory.js';

/**
 * Messages of the current call. `peer` is a rank of the communicator; `tag` tells apart the
 * messages one rank sends another within the call, so several chunk pipelines may run at
 * once. Every (sender, receiver, tag) is used at most once per call.
 */
export interface Link {
  send(peer: number, tag: number, payload: Uint8Array): Promise<void>;
  /**
   * `landing` (optional, Memory.landing): the transport may apply the payload there on arrival
   * and then resolves with `landing.target` itself; else the payload comes as usual.
   */
  recv(peer: number, tag: number, landing?: Landing): Promise<Uint8Array>;
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
  /** Calls of an algorithm that reduces through an aggregator (switch): it, and the call's dtype and op. */
  readonly aggregation?: Aggregation;
  /** Calls of the board algorithm: the communicator's shared-memory board, and the call's dtype and op. */
  readonly board?: BoardBinding;
  /**
   * The switch's host-local hierarchy: this call's ranks on this rank's host, lowest first. The
   * first (the leader) reduces them, talks to the aggregator and sends the total back; only it
   * has `aggregation`.
   */
  readonly hostRanks?: readonly number[];
  /**
   * The rank behind the slowest link (calibration's probe, lib/tune/placement.ts), alike on every
   * rank: the trees place it where its link carries least (tree-topology.ts's placedLabels for the
   * double binary tree, rootedLabels for broadcast's and reduce's); absent: no rank is placed.
   */
  readonly slowRank?: number;
}
