// Ring allreduce: reduce-scatter then all-gather around the ring, each segment cut into
// chunks that travel as independent pipelines, so that while one chunk is being reduced the
// next is on the wire. Moves 2(n-1)/n of the data per rank: bandwidth-optimal for large counts.
import type { CollectiveContext, Region } from './context.js';
import { evenSegments } from './partition.js';
import { ringAllGatherChunk, ringPipelines, ringReduceScatterChunk, runRing } from './ring-steps.js';
import { byteCut, waves, type Traffic, type TrafficCall } from './traffic.js';

/** Reduces `work` (this rank's contribution, already premultiplied) in place on every rank. */
export async function ringAllReduce(ctx: CollectiveContext, work: Region): Promise<void> {
  return runRing(ctx, work, evenSegments(work.length, ctx.size, ctx.alignElements), [ringReduceScatterChunk, ringAllGatherChunk]);
}

/**
 * Cost (lib/collectives/traffic.ts): every chunk pipeline (runRing's cut of the segments) sends
 * 2(n-1) messages on every rank, in sequence; the pipelines of one wave (pipelineDepth at once)
 * overlap. The busiest rank sends 2(n-1)/n of the bytes and folds (n-1)/n of them in; its
 * messages are a chunk (or a whole segment, where shorter).
 */
export function ringAllReduceTraffic(call: TrafficCall): Traffic {
  const { bytes, ranks } = call;
  const cut = byteCut(call);
  const longest = Math.max(...evenSegments(bytes, ranks, cut.alignElements).map((s) => s.length));
  const { pipelines, chunkElements } = ringPipelines(longest, cut);
  const steps = 2 * (ranks - 1);
  const segment = bytes / ranks;
  return { messages: steps * waves(pipelines, cut.pipelineDepth), sends: steps * pipelines, linkBytes: steps * segment, reducedBytes: (ranks - 1) * segment, messageBytes: Math.min(chunkElements, longest) };
}
