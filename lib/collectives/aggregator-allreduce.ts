// Allreduce through an Aggregator (CollNet-like, the switch): each chunk is sent once to the
// aggregator and its total comes back once; ranks exchange nothing with each other. The rank
// finalizes (avg) what comes back, as after the ring's reduce-scatter.
import type { DataType, ReduceOp } from '../dtype.js';
import { internalError } from '../errors.js';
import type { AggregateOp, Aggregator } from '../memory/aggregator.js';
import type { CollectiveContext, Region } from './context.js';
import { chunkCount, chunkOf } from './partition.js';
import { runPipelines } from './pipeline.js';
import { DEFAULT_SIZE_CLASS, valuesOf } from '../switch/packet.js';
import type { Traffic, TrafficCall } from './traffic.js';

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

/** The switch's allreduce: the aggregator the communicator bound into the call. */
export function switchAllReduce(ctx: CollectiveContext, work: Region): Promise<void> {
  const aggregation = ctx.aggregation;
  if (!aggregation) return Promise.reject(internalError('the switch algorithm ran without an aggregator'));
  return aggregatorAllReduce(ctx, work, aggregation.aggregator, aggregation.dtype, aggregation.op);
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
export function switchRefusal(call: { readonly dtype: DataType; readonly op: ReduceOp; readonly ranks: number }): string | undefined {
  if (aggregateOp(call.op) !== 'sum') return `the switch algorithm does not support op ${String(call.op)} (it supports sum, avg and premulSum)`;
  if (call.ranks > SWITCH_MAX_RANKS) return `the switch algorithm serves at most ${SWITCH_MAX_RANKS} ranks (its worker bitmap), not ${call.ranks}`;
  return undefined;
}

/**
 * Cost of the switch (lib/collectives/traffic.ts): one round trip through the aggregator, each
 * rank's bytes out once and back once, in packets of the default size class that the switch
 * handles one at a time (its per-packet cost; the window keeps them in flight).
 */
export function switchAllReduceTraffic({ bytes }: TrafficCall): Traffic {
  return { messages: 2, linkBytes: bytes, reducedBytes: 0, packets: Math.max(1, Math.ceil(bytes / (4 * valuesOf(DEFAULT_SIZE_CLASS)))) };
}
