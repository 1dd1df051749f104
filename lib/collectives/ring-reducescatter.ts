// Ring reduce-scatter: the first half of ring allreduce over fixed blocks, so that rank r
// ends with block r reduced over every rank.
import type { CollectiveContext, Region } from './context.js';
import { blockSegments } from './partition.js';
import { runPipelines, SendQueue } from './pipeline.js';
import { ringChunks, ringReduceScatterChunk, withPipelinedChunks } from './ring-steps.js';

/** `work` holds size blocks of `blockLength`; afterwards block `rank` is the finalized result. */
export async function ringReduceScatter(base: CollectiveContext, work: Region, blockLength: number): Promise<void> {
  const segments = blockSegments(blockLength, base.size);
  const ctx = withPipelinedChunks(base, segments);
  const steps = ctx.size - 1;
  await runPipelines(ringChunks(segments, ctx.chunkElements), ctx.pipelineDepth, async (chunk) => {
    const sends = new SendQueue();
    await ringReduceScatterChunk(ctx, { work, segments, chunk, sends, tag: (step) => chunk * steps + step });
    await sends.drain();
  });
}
