// Ring (chain) broadcast: the root's data flows root -> root+1 -> ... -> root-1 in chunks; each
// rank stores a chunk and forwards the very bytes it received, so all links are busy at once
// once the pipeline is full.
import type { CollectiveContext, Region } from './context.js';
import { chunkCount, chunkOf, ringPeer } from './partition.js';
import { runPipelines } from './pipeline.js';
import { rootedPieceElements, pipelined, type Traffic, type TrafficCall } from './traffic.js';

/** `work` holds the data on `root`; afterwards it does on every rank. */
export async function ringBroadcast(ctx: CollectiveContext, work: Region, root: number): Promise<void> {
  const { rank, size, link, memory } = ctx;
  // Each piece goes whole from hop to hop: at most STORED_PIECE_BYTES, and the pipeline depth of
  // them where a quarter chunk allows (rootedPieceElements, traffic.ts).
  const chunkElements = rootedPieceElements(work.length, ctx);
  if (size === 1) return;
  const position = ringPeer(rank, -root, size);
  const next = ringPeer(rank, 1, size);
  const prev = ringPeer(rank, -1, size);
  const whole = { offset: 0, length: work.length };
  await runPipelines(chunkCount(work.length, chunkElements), ctx.pipelineDepth, async (chunk) => {
    const piece = chunkOf(whole, chunk, chunkElements);
    if (position === 0) {
      await link.send(next, chunk, await memory.outgoing(work, piece.offset, piece.length)); // the root never writes `work`
      return;
    }
    const received = await link.recv(prev, chunk);
    if (position < size - 1) await link.send(next, chunk, await memory.recvCopySend(work, piece.offset, piece.length, received));
    else await memory.write(work, piece.offset, piece.length, received);
    link.release(received); // written and forwarded
  });
}

/** Cost (lib/collectives/traffic.ts): a chain of n-1 hops, pipelined in chunks. */
export function ringBroadcastTraffic(call: TrafficCall): Traffic {
  return { ...pipelined(call.ranks - 1, call), reducedBytes: 0 };
}
