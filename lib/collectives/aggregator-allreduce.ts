// Allreduce through an Aggregator (CollNet-like, the switch): each chunk is sent once to the
// aggregator and its total comes back once; ranks exchange nothing with each other. The rank
// finalizes (avg) what comes back, as after the ring's reduce-scatter.
import type { DataType, ReduceOp } from '../dtype.js';
import type { AggregateOp, Aggregator } from '../memory/aggregator.js';
import type { CollectiveContext, Memory, Region } from './context.js';
import { chunkCount, chunkOf } from './partition.js';
import { runPipelines } from './pipeline.js';

/** What the aggregator combines with: avg sums (divided here after), premulSum sums premultiplied inputs. */
export function aggregateOp(op: ReduceOp): AggregateOp {
  return typeof op === 'string' && op !== 'avg' ? op : 'sum';
}

/** Elements [at, at + count) of `work`, chunk `chunk` of the call, through the aggregator: in place and finalized. */
export async function aggregateChunk(
  memory: Memory, work: Region, at: number, count: number, chunk: number, aggregator: Aggregator, dtype: DataType, op: ReduceOp,
): Promise<void> {
  const mine = await memory.read(work, at, count);
  const total = await aggregator.allReduce(chunk, mine, count, dtype, aggregateOp(op));
  await memory.write(work, at, count, total);
  await memory.finalize(work, at, count);
}

/** Reduces `work` (this rank's contribution, already premultiplied) in place on every rank. */
export async function aggregatorAllReduce(
  ctx: CollectiveContext, work: Region, aggregator: Aggregator, dtype: DataType, op: ReduceOp,
): Promise<void> {
  const { memory, chunkElements } = ctx;
  const whole = { offset: 0, length: work.length };
  await runPipelines(chunkCount(work.length, chunkElements), ctx.pipelineDepth, async (chunk) => {
    const piece = chunkOf(whole, chunk, chunkElements);
    await aggregateChunk(memory, work, piece.offset, piece.length, chunk, aggregator, dtype, op);
  });
}

/** A SwitchML switch's worker bitmap is 32 bits wide. */
export const SWITCH_MAX_RANKS = 32;

/**
 * Why the switch cannot run an allreduce (undefined: it can). It sums int32 values: int32 and
 * uint32 travel as their bits (wrap-around sums are the same), float32 is quantized, float16 and
 * bfloat16 are widened to float32 and narrowed back; avg and premulSum are sums with a step
 * before or after. prod, min and max have no switch rule. Depends only on the call's signature
 * and the communicator's size, so every rank decides alike.
 */
export function switchRefusal(call: { readonly dtype: DataType; readonly op: ReduceOp; readonly ranks: number; readonly aggregatorWorkers?: number }): string | undefined {
  if (aggregateOp(call.op) !== 'sum') return `the switch algorithm does not support op ${String(call.op)} (it supports sum, avg and premulSum)`;
  const workers = call.aggregatorWorkers ?? call.ranks;
  if (workers > SWITCH_MAX_RANKS) {
    return call.aggregatorWorkers === undefined
      ? `the switch algorithm serves at most ${SWITCH_MAX_RANKS} ranks (its worker bitmap), not ${call.ranks}`
      : `the switch algorithm serves at most ${SWITCH_MAX_RANKS} workers per switch (its worker bitmap: hosts, or ranks at a leaf and leaves at the root), not ${workers}`;
  }
  return undefined;
}
