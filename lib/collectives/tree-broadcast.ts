// Tree broadcast: chunks flow from the root down a binary tree rooted at it; each rank
// stores a chunk and forwards the bytes it received to its children. log(n) hops deep.
import type { CollectiveContext, Region } from './context.js';
import { runRootedPieces } from './rooted-pieces.js';
import { widestFanout } from './tree-topology.js';
import { pipelined, treeDepth, type Traffic, type TrafficCall } from './traffic.js';

/** `work` holds the data on `root`; afterwards it does on every rank. */
export async function treeBroadcast(ctx: CollectiveContext, work: Region, root: number): Promise<void> {
  const { link, memory } = ctx;
  await runRootedPieces(ctx, work, root, async (node, piece, chunk) => {
    let bytes: Uint8Array;
    let received: Uint8Array | undefined;
    if (node.parent < 0) {
      bytes = await memory.outgoing(work, piece.offset, piece.length); // the root never writes `work`
    } else {
      received = await link.recv(node.parent, chunk);
      if (node.children.length > 0) {
        bytes = await memory.recvCopySend(work, piece.offset, piece.length, received);
      } else {
        await memory.write(work, piece.offset, piece.length, received);
        bytes = received;
      }
    }
    await Promise.all(node.children.map((child) => link.send(child, chunk, bytes)));
    if (received) link.release(received); // written and forwarded
  });
}

/**
 * Cost (lib/collectives/traffic.ts): ceil(log2 n) hops down a binary tree, pipelined, to each of
 * an inner rank's children (the widest rank's count: 1 with 3 ranks, 2 from 4); the slow rank, a
 * leaf, receives each chunk once (a call rooted at the slow rank is priced so too).
 */
export function treeBroadcastTraffic(call: TrafficCall): Traffic {
  return { ...pipelined(treeDepth(call.ranks), call, widestFanout(call.ranks), 'receive'), reducedBytes: 0 };
}
