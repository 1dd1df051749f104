// Ring reduce-scatter: the first half of ring allreduce over fixed blocks, so that rank r
// ends with block r reduced over every rank.
import type { CollectiveContext, Region } from './context.js';
import { blockSegments } from './partition.js';
import { ringReduceScatterChunk, runRing } from './ring-steps.js';

/** `work` holds size blocks of `blockLength`; afterwards block `rank` is the finalized result. */
export async function ringReduceScatter(ctx: CollectiveContext, work: Region, blockLength: number): Promise<void> {
  return runRing(ctx, work, blockSegments(blockLength, ctx.size), [ringReduceScatterChunk]);
}
