// Ring all-gather: every rank starts with its own block in place and passes blocks along the
// ring until each has all of them.
import type { CollectiveContext, Region } from './context.js';
import { blockSegments } from './partition.js';
import { runPipelines, SendQueue } from './pipeline.js';
import { ringAllGatherChunk, ringChunks, withPipelinedChunks } from './ring-steps.js';

/** `work` holds size blocks of `blockLength`, block `rank` filled; afterwards all are. */
export async function ringAllGather(base: CollectiveContext, work: Region, blockLength: number): Promise<void> {
  const segments = blockSegments(blockLength, base.size);
  const ctx = withPipelinedChunks(base, segments);
  const steps = ctx.size - 1;
  await runPipelines(ringChunks(segments, ctx.chunkElements), ctx.pipelineDepth, async (chunk) => {
    const sends = new SendQueue();
    await ringAllGatherChunk(ctx, { work, segments, chunk, sends, tag: (step) => chunk * steps + step });
    await sends.drain();
  });
}
