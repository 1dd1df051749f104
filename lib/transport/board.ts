// The shared-memory collective board: an optional capability of a transport whose ranks share
// one host's memory (the shm world with the native addon). Where a transport has one, the
// 'board' algorithm (lib/collectives/board-allreduce.ts) reduces through it with no message:
// every rank maps one segment per communicator and the reduction runs in native code
// (native/src/board.cc). Transports without one (tcp, websocket, inproc, ntcp: ranks possibly
// on several hosts) leave `Transport.board` undefined, and the algorithm refuses them.
import type { DataType, ReduceOp } from '../dtype.js';
import type { AggregateOp } from '../memory/aggregator.js';

/**
 * Bytes of one of a lane's two buffers: a large call goes through in chunks of this many
 * bytes, two arrivals each. The segment holds 2 x ranks of them (8 MiB at 4 ranks).
 */
export const BOARD_BUFFER_BYTES = 1 << 20;

/**
 * A call is small, one arrival in which every rank folds every lane, while (ranks - 1) x its
 * bytes stay within this (and it fits one buffer); else it runs in chunks. native/src/board.cc's
 * kSmallBytes decides; this copy is for the algorithm's cost formula.
 */
export const BOARD_SMALL_BYTES = 64 << 10;

/** What a call of the board algorithm is given (the communicator binds it per call). */
export interface BoardBinding {
  readonly board: BoardCall;
  readonly dtype: DataType;
  readonly op: ReduceOp;
}

/** One call's use of a communicator's board. */
export interface BoardCall {
  /**
   * Reduces `bytes` (this rank's elements, premultiplied for premulSum) with every rank's, in
   * place: x0 ⊕ x1 ⊕ ... ⊕ xn-1 for every element (the oracle's rank order), then divided by the
   * rank count when `average` (avg). Rejects naming the rank that died, timed out, or runs
   * another call.
   */
  allReduce(bytes: Uint8Array, dtype: DataType, op: AggregateOp, average: boolean): Promise<void>;
  /**
   * The call is done with the board (after its allReduce settled, or without one): the calls
   * bound after it wait for this, so a schedule says it on every path.
   */
  done(): void;
}

/** A communicator's board: its segment, mapped by every member. */
export interface BoardSession {
  /** `stamp`: a number every rank derives alike from the call (its signature and sequence number), compared across ranks. */
  forCall(stamp: number): BoardCall;
  /** Unmaps the segment and stops its thread (a call in flight rejects); idempotent. */
  close(): void;
}

export interface BoardHost {
  /**
   * The board of a communicator: `key` tells it from the transport's other communicators' (the
   * same on every member), `rank` of `size` is this rank's place in it. Attaching happens in
   * the background; the first call waits for it (bounded by `timeoutMs`).
   */
  open(key: string, rank: number, size: number, timeoutMs: number): BoardSession;
}
