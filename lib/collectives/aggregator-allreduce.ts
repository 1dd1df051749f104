// Allreduce through an Aggregator (CollNet-like, the future switch): each chunk is sent once to
// the aggregator and its total comes back once; ranks exchange nothing with each other. The
// rank finalizes (avg) what comes back, as after the ring's reduce-scatter.
import type { DataType, ReduceOp } from '../dtype.js';
import type { AggregateOp, Aggregator } from '../memory/aggregator.js';
import type { CollectiveContext, Region } from './context.js';
import { chunkCount, chunkOf } from './partition.js';
import { runPipelines } from './pipeline.js';

/** What the aggregator combines with: avg sums (divided here after), premulSum sums premultiplied inputs. */
export function aggregateOp(op: ReduceOp): AggregateOp {
  return typeof op === 'string' && op !== 'avg' ? op : 'sum';
}

/** Reduces `work` (this rank's contribution, already premultiplied) in place on every rank. */
export async function aggregatorAllReduce(
  ctx: CollectiveContext, work: Region, aggregator: Aggregator, dtype: DataType, op: ReduceOp,
): Promise<void> {
  const { memory, chunkElements } = ctx;
  const combine = aggregateOp(op);
  const whole = { offset: 0, length: work.length };
  await runPipelines(chunkCount(work.length, chunkElements), ctx.pipelineDepth, async (chunk) => {
    const piece = chunkOf(whole, chunk, chunkElements);
    const mine = await memory.read(work, piece.offset, piece.length);
    const total = await aggregator.allReduce(chunk, mine, piece.length, dtype, combine);
    await memory.write(work, piece.offset, piece.length, total);
    await memory.finalize(work, piece.offset, piece.length);
  });
}
