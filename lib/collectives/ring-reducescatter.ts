// Ring reduce-scatter: the first half of ring allreduce over fixed blocks, so that rank r
// ends with block r reduced over every rank.
import type { CollectiveContext, Region } from './context.js';
import { blockSegments } from './partition.js';
import { ringReduceScatterChunk, ringPipelines, runRing } from './ring-steps.js';
import { byteCut, waves, type Traffic, type TrafficCall } from './traffic.js';

/** `work` holds size blocks of `blockLength`; afterwards block `rank` is the finalized result. */
export async function ringReduceScatter(ctx: CollectiveContext, work: Region, blockLength: number): Promise<void> {
  return runRing(ctx, work, blockSegments(blockLength, ctx.size), [ringReduceScatterChunk]);
}

/** Cost (lib/collectives/traffic.ts): n-1 steps, each one rank's block (`bytes`) in runRing's chunk pipelines (overlapping pipelineDepth at once), folded on arrival: the first half of the ring allreduce of n·bytes. */
export function ringReduceScatterTraffic(call: TrafficCall): Traffic {
  const { bytes, ranks } = call;
  const cut = byteCut(call);
  const { pipelines, chunkElements } = ringPipelines(bytes, cut);
  return { messages: (ranks - 1) * waves(pipelines, cut.pipelineDepth), sends: (ranks - 1) * pipelines, linkBytes: (ranks - 1) * bytes, reducedBytes: (ranks - 1) * bytes, messageBytes: Math.min(chunkElements, bytes), halfOfAllReduce: ranks * bytes };
}
