// Ring (chain) reduce: partial sums flow root+1 -> root+2 -> ... -> root in chunks; each rank
// folds its contribution in and passes the chunk on; the root finalizes the result.
import type { CollectiveContext, Region } from './context.js';
import { chunkCount, chunkOf, ringPeer } from './partition.js';
import { runPipelines } from './pipeline.js';
import { rootedPieceElements, pipelined, type Traffic, type TrafficCall } from './traffic.js';

/**
 * `work` holds this rank's contribution (premultiplied) and may be scratch on non-roots;
 * afterwards the root's `work` holds the reduction.
 */
export async function ringReduce(ctx: CollectiveContext, work: Region, root: number): Promise<void> {
  const { rank, size, link, memory } = ctx;
  // Each piece goes whole from hop to hop: at most STORED_PIECE_BYTES, and the pipeline depth of
  // them where a quarter chunk allows (rootedPieceElements, traffic.ts).
  const chunkElements = rootedPieceElements(work.length, ctx);
  const position = ringPeer(rank, -root - 1, size); // 0 starts the chain, size-1 is the root
  const next = ringPeer(rank, 1, size);
  const prev = ringPeer(rank, -1, size);
  const whole = { offset: 0, length: work.length };
  await runPipelines(chunkCount(work.length, chunkElements), ctx.pipelineDepth, async (chunk) => {
    const piece = chunkOf(whole, chunk, chunkElements);
    if (rank === root) {
      if (position > 0) {
        const received = await link.recv(prev, chunk);
        await memory.accumulate(work, piece.offset, piece.length, received);
        link.release(received);
      }
      await memory.finalize(work, piece.offset, piece.length);
      return;
    }
    // Sent from `work` itself (or its copy): nothing writes this chunk again.
    let bytes: Uint8Array;
    if (position > 0) {
      const received = await link.recv(prev, chunk);
      bytes = await memory.recvReduceSend(work, piece.offset, piece.length, received);
      link.release(received);
    } else {
      bytes = await memory.outgoing(work, piece.offset, piece.length);
    }
    await link.send(next, chunk, bytes);
  });
}

/** Cost (lib/collectives/traffic.ts): a chain of n-1 hops, pipelined in chunks, each folding what it receives. */
export function ringReduceTraffic(call: TrafficCall): Traffic {
  return { ...pipelined(call.ranks - 1, call), reducedBytes: call.ranks > 1 ? call.bytes : 0 };
}
