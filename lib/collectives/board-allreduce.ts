// The board allreduce (the algorithm row 'board'): for ranks that share one host's memory, the
// transport's collective board (lib/transport/board.ts, native/src/board.cc) reduces the call
// in native code out of one shared segment: a small call is one arrival per rank (each rank
// folds every lane), a large one per chunk of up to 1 MiB a copy in (all but this rank's
// slice), an arrival, a reduction of this rank's slice over every lane, and the copy out of the
// others' slices once the next chunk's arrival (or one more after the last) says they are
// there: chunks + 1 arrivals in all. No message goes through the
// transport, so no event-loop wakeup or promise per step (the ring makes 2(n-1) per chunk).
// Every element is folded x0 ⊕ x1 ⊕ ... ⊕ xn-1 (rank order, like the direct exchange and the
// CPU oracle), and avg divides once by n (the native finishAverage, bit-identical to the
// oracle's); premulSum arrives premultiplied, as on every path.
import { BOARD_BUFFER_BYTES, BOARD_SMALL_BYTES } from '../transport/board.js';
import { runOnBoard } from './board-run.js';
import type { CollectiveContext, Region } from './context.js';
import type { Traffic, TrafficCall } from './traffic.js';

/** `input` (out of place): the send buffer, read where it is by the board's copy-in; `work` then gets the result only. */
export function boardAllReduce(ctx: CollectiveContext, work: Region, input?: Region): Promise<void> {
  const whole = { offset: 0, length: work.length };
  return runOnBoard(ctx, work, { collective: 'allReduce', result: whole, ...(input && { input }) }, () => ctx.memory.finalize(work, 0, work.length));
}

/**
 * Cost (lib/collectives/traffic.ts): a small call is one synchronization (α once), a copy in
 * and n-1 folds of the whole buffer; a large one one per chunk of BOARD_BUFFER_BYTES and one
 * more, the copy in of the others' slices and the copy out of theirs (linkBytes) and n-1 folds
 * of its own slice. No
 * transport message is sent (o never). The board's reduce costs the same (its root's share).
 */
export function boardAllReduceTraffic({ bytes, ranks }: TrafficCall): Traffic {
  if (bytes === 0 || ranks < 2) return { messages: 0, sends: 0, linkBytes: 0, reducedBytes: 0 };
  if ((ranks - 1) * bytes <= BOARD_SMALL_BYTES && bytes <= BOARD_BUFFER_BYTES) return { messages: 1, sends: 0, linkBytes: bytes, reducedBytes: (ranks - 1) * bytes };
  const share = bytes * (ranks - 1) / ranks;
  return { messages: Math.ceil(bytes / BOARD_BUFFER_BYTES) + 1, sends: 0, linkBytes: 2 * share, reducedBytes: share };
}
