// Ring all-gather: every rank starts with its own block in place and passes blocks along the
// ring until each has all of them.
import type { CollectiveContext, Region } from './context.js';
import { blockSegments } from './partition.js';
import { ringAllGatherChunk, ringPipelines, runRing } from './ring-steps.js';
import { byteCut, waves, type Traffic, type TrafficCall } from './traffic.js';

/** `work` holds size blocks of `blockLength`, block `rank` filled; afterwards all are. */
export async function ringAllGather(ctx: CollectiveContext, work: Region, blockLength: number): Promise<void> {
  return runRing(ctx, work, blockSegments(blockLength, ctx.size), [ringAllGatherChunk]);
}

/** Cost (lib/collectives/traffic.ts): n-1 steps, each one rank's block (`bytes`) in runRing's chunk pipelines (overlapping pipelineDepth at once): the second half of the ring allreduce of n·bytes. */
export function ringAllGatherTraffic(call: TrafficCall): Traffic {
  const { bytes, ranks } = call;
  const cut = byteCut(call);
  const { pipelines, chunkElements } = ringPipelines(bytes, cut);
  return { messages: (ranks - 1) * waves(pipelines, cut.pipelineDepth), sends: (ranks - 1) * pipelines, linkBytes: (ranks - 1) * bytes, reducedBytes: 0, messageBytes: Math.min(chunkElements, bytes), halfOfAllReduce: ranks * bytes };
}
