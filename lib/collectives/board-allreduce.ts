// The board allreduce (the algorithm row 'board'): for ranks that share one host's memory, the
// transport's collective board (lib/transport/board.ts, native/src/board.cc) reduces the call
// in native code out of one shared segment: a small call is one arrival per rank (each rank
// folds every lane), a large one per 1 MiB chunk a copy in, an arrival, a reduction of this
// rank's slice over every lane, an arrival and a copy out. No message goes through the
// transport, so no event-loop wakeup or promise per step (the ring makes 2(n-1) per chunk).
// Every element is folded x0 ⊕ x1 ⊕ ... ⊕ xn-1 (rank order, like the direct exchange and the
// CPU oracle), and avg divides once by n (the native finishAverage, bit-identical to the
// oracle's); premulSum arrives premultiplied, as on every path.
// Host memory lends its own bytes (Memory.inPlace), reduced in place; other memories (GPU
// buffers) are staged: read into host bytes, reduced, written back.
import { internalError } from '../errors.js';
import { BOARD_BUFFER_BYTES, BOARD_SMALL_BYTES } from '../transport/board.js';
import { aggregateOp } from './aggregator-allreduce.js';
import type { ReductionCall } from './algorithms.js';
import type { CollectiveContext, Region } from './context.js';
import type { Traffic, TrafficCall } from './traffic.js';

export async function boardAllReduce(ctx: CollectiveContext, work: Region): Promise<void> {
  const binding = ctx.board;
  if (binding === undefined) throw internalError('the board algorithm ran without a board');
  try {
    const { memory } = ctx;
    const count = work.length;
    if (count === 0) return;
    if (ctx.size === 1) return await memory.finalize(work, 0, count);
    const { board, dtype, op } = binding;
    const own = memory.inPlace?.(work, 0, count);
    const bytes = own ?? await memory.read(work, 0, count);
    await board.allReduce(bytes, dtype, aggregateOp(op), op === 'avg');
    if (own === undefined) await memory.write(work, 0, count, bytes);
  } finally {
    // The next call bound to the board (a group's) may start.
    binding.board.done();
  }
}

/** Why the board cannot run a call: only where the transport offers one (ranks sharing a host's memory). */
export function boardRefusal(call: ReductionCall): string | undefined {
  if (call.board) return undefined;
  return 'the board algorithm needs ranks that share one host\'s memory: the shm transport (webccl+shm://, WEBCCL_TRANSPORT=shm) with the native addon; this communicator\'s transport has no board';
}

/**
 * Cost (lib/collectives/traffic.ts): a small call is one synchronization (α once), a copy in
 * and n-1 folds of the whole buffer; a large one two per chunk of BOARD_BUFFER_BYTES, its copy
 * in and the copy out of the others' slices (linkBytes) and n-1 folds of its own slice. No
 * transport message is sent (o never).
 */
export function boardAllReduceTraffic({ bytes, ranks }: TrafficCall): Traffic {
  if (bytes === 0 || ranks < 2) return { messages: 0, sends: 0, linkBytes: 0, reducedBytes: 0 };
  if ((ranks - 1) * bytes <= BOARD_SMALL_BYTES && bytes <= BOARD_BUFFER_BYTES) return { messages: 1, sends: 0, linkBytes: bytes, reducedBytes: (ranks - 1) * bytes };
  const share = bytes * (ranks - 1) / ranks;
  return { messages: 2 * Math.ceil(bytes / BOARD_BUFFER_BYTES), sends: 0, linkBytes: bytes + share, reducedBytes: share };
}
