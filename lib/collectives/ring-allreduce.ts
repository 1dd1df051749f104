// Ring allreduce: reduce-scatter then all-gather around the ring, each segment cut into
// chunks that travel as independent pipelines, so that while one chunk is being reduced the
// next is on the wire. Moves 2(n-1)/n of the data per rank: bandwidth-optimal for large counts.
import type { CollectiveContext, Region } from './context.js';
import { evenSegments } from './partition.js';
import { runPipelines, SendQueue } from './pipeline.js';
import { ringAllGatherChunk, ringChunks, ringReduceScatterChunk, withPipelinedChunks } from './ring-steps.js';

/** Reduces `work` (this rank's contribution, already premultiplied) in place on every rank. */
export async function ringAllReduce(base: CollectiveContext, work: Region): Promise<void> {
  const segments = evenSegments(work.length, base.size, base.alignElements);
  const ctx = withPipelinedChunks(base, segments);
  const steps = ctx.size - 1;
  await runPipelines(ringChunks(segments, ctx.chunkElements), ctx.pipelineDepth, async (chunk) => {
    const sends = new SendQueue();
    const base = chunk * 2 * steps;
    await ringReduceScatterChunk(ctx, { work, segments, chunk, sends, tag: (step) => base + step });
    await ringAllGatherChunk(ctx, { work, segments, chunk, sends, tag: (step) => base + steps + step });
    await sends.drain();
  });
}
