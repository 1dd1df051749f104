// Ring allreduce: reduce-scatter then all-gather around the ring, each segment cut into
// chunks that travel as independent pipelines, so that while one chunk is being reduced the
// next is on the wire. Moves 2(n-1)/n of the data per rank: bandwidth-optimal for large counts.
import type { CollectiveContext, Region } from './context.js';
import { evenSegments } from './partition.js';
import { ringAllGatherChunk, ringReduceScatterChunk, runRing } from './ring-steps.js';
import { chunksOf, type Traffic, type TrafficCall } from './traffic.js';

/** Reduces `work` (this rank's contribution, already premultiplied) in place on every rank. */
export async function ringAllReduce(ctx: CollectiveContext, work: Region): Promise<void> {
  return runRing(ctx, work, evenSegments(work.length, ctx.size, ctx.alignElements), [ringReduceScatterChunk, ringAllGatherChunk]);
}

/**
 * Cost (lib/collectives/traffic.ts): 2(n-1) steps, each a segment of bytes/n cut into chunks;
 * the busiest rank sends 2(n-1)/n of the bytes and folds (n-1)/n of them into its memory.
 */
export function ringAllReduceTraffic({ bytes, ranks, chunkBytes }: TrafficCall): Traffic {
  const segment = bytes / ranks;
  return { messages: 2 * (ranks - 1) * chunksOf(segment, chunkBytes), linkBytes: 2 * (ranks - 1) * segment, reducedBytes: (ranks - 1) * segment };
}
