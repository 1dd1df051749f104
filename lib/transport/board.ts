// The shared-memory collective board: an optional capability of a transport whose ranks share
// one host's memory (the shm world with the native addon). Where a transport has one, the
// 'board' algorithm (lib/collectives/board-*.ts: allreduce, reduce, reduce-scatter, allgather,
// broadcast) runs through it with no message: every rank maps one segment per communicator and
// the copies and folds run in native code (native/src/board.cc). Transports without one (tcp,
// websocket, inproc, ntcp: ranks possibly on several hosts) leave `Transport.board` undefined,
// and the algorithm refuses them.
import type { DataType, ReduceOp } from '../dtype.js';
// Types only (erased): the browser entry loads nothing of lib/native.
import type { BoardWork, SmallBoardCall } from '../native/addon.js';
import type { HostBufferAllocator } from '../memory/host-buffers.js';

export type { BoardCollective, BoardWork, SmallBoardCall } from '../native/addon.js';

/**
 * Bytes of one of a lane's two buffers: a large call goes through in chunks of up to this many
 * bytes, one arrival each (a large allreduce or reduce one more at the end). The segment holds
 * 2 x ranks of them (8 MiB at 4 ranks).
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
  /** The call's op (absent: a collective that does not reduce). */
  readonly op: ReduceOp | undefined;
}

/** One call's use of a communicator's board. */
export interface BoardCall {
  /**
   * Runs `work` over `bytes` in place, every element folded x0 ⊕ x1 ⊕ ... ⊕ xn-1 (the oracle's
   * rank order, premultiplied for premulSum) then divided by the rank count when `average`:
   * allReduce and reduce take this rank's elements (the result: on every rank, on the root);
   * reduceScatter and allGather n equal blocks (block rank is the result, or is what this rank
   * gives; reduceScatter's result goes to `work.output` instead where given, `bytes` only read);
   * broadcast the data (the root's is given). Rejects naming the rank that died, timed out, or
   * runs another call.
   */
  run(bytes: Uint8Array, work: BoardWork): Promise<void>;
  /**
   * The call is done with the board (after its run settled, or without one): the calls
   * bound after it wait for this, so a schedule says it on every path.
   */
  done(): void;
}

/** A communicator's board: its segment, mapped by every member. */
export interface BoardSession {
  /** `stamp`: a number every rank derives alike from the call (its signature and sequence number), compared across ranks. */
  forCall(stamp: number): BoardCall;
  /**
   * Binds and runs `call` at once where no call bound before it is pending (else undefined:
   * bind it with forCall): true when it finished at the call (the peers came within the board's
   * spin), else a promise that settles when the board's thread finishes it. Throws the failure
   * of a call that failed at once (a peer that died, ranks running different calls).
   */
  runNow?(stamp: number, call: SmallBoardCall): true | Promise<void> | undefined;
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
  /**
   * Host buffers the board's peers can map (Communicator.allocHostBuffer): a large allgather or
   * broadcast whose views lie in them is read straight from the owners' buffers (one memcpy, no
   * lane). Absent: an addon built without them.
   */
  readonly hostBuffers?: HostBufferAllocator | undefined;
}
