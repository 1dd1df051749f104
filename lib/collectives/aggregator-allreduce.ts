// Allreduce through an Aggregator (CollNet-like, the switch): each piece is sent once to the
// aggregator and its total comes back once; ranks exchange nothing with each other. The rank
// finalizes (avg) what comes back, as after the ring's reduce-scatter.
//
// Pieces are as large as a bound on memory allows, not the link's chunks: a switch runs each
// aggregator call as one packet stream whose window fills and drains, and a float32 stream
// sends min(W, packets) exponent-only packets before its data (SwitchML agrees exponents a
// window ahead). Cut into 1 MiB chunks of 2048-value packets, that lead doubled what every link
// carried. A call of up to MAX_PIECE_WINDOWS windows of packets is one piece; a larger one is
// cut into equal pieces of whole packets (each about half that or more, so its lead is
// about 1/16 at most), whose staging (GPU memory: read, write) overlaps the stream of the piece before
// (pipelineDepth). The cut depends only on the count and the job's packets, never on where a
// rank's data lives: ranks with host and GPU buffers in one call send the same packets.
import type { DataType, ReduceOp } from '../dtype.js';
import { internalError } from '../errors.js';
import type { AggregateOp, Aggregation, Aggregator, AggregatorPackets } from '../memory/aggregator.js';
import type { CollectiveContext, Memory, Region } from './context.js';
import { chunkCount, chunkOf, type Span } from './partition.js';
import { runPipelines } from './pipeline.js';

/** What the aggregator combines with: avg sums (divided here after), premulSum sums premultiplied inputs. */
export function aggregateOp(op: ReduceOp): AggregateOp {
  return typeof op === 'string' && op !== 'avg' ? op : 'sum';
}

/** Elements [at, at + count) of `work`, aggregator slot `chunk` of the call, through the aggregator: in place and finalized. */
export async function aggregateChunk(
  memory: Memory, work: Region, at: number, count: number, chunk: number, aggregator: Aggregator, dtype: DataType, op: ReduceOp,
): Promise<void> {
  // Host memory lends the elements themselves (the aggregator writes the total over them, and
  // write then has nothing to copy); other memories hand over a copy.
  const mine = memory.inPlace?.(work, at, count) ?? await memory.read(work, at, count);
  const total = await aggregator.allReduce(chunk, mine, count, dtype, aggregateOp(op));
  await memory.write(work, at, count, total);
  await memory.finalize(work, at, count);
}

/**
 * The float32 sum of this rank's host `values` over every rank, into `out` (`values` itself, or
 * an array of their length not overlapping them), through an aggregator
 * that quantizes packet by packet (Aggregator.allReduceQuantized) with the agreed `exponents`,
 * one per `blockSize` elements, for `workers` ranks: aggregatorAllReduce's pieces, which start
 * on whole packets (whole blocks).
 */
export async function aggregatorQuantizedSum(
  ctx: CollectiveContext, aggregator: Aggregator, values: Float32Array, exponents: Int32Array, blockSize: number, workers: number, out: Float32Array,
): Promise<void> {
  const quantized = aggregator.allReduceQuantized?.bind(aggregator);
  if (quantized === undefined) throw internalError('a quantized sum ran on an aggregator that does not quantize');
  const pieces = aggregatorPieces(values.length, aggregator.packets);
  await runPipelines(pieces.length, ctx.pipelineDepth, async (slot) => {
    const { offset, length } = pieces[slot]!;
    if (offset % blockSize !== 0) throw internalError(`aggregator piece ${slot} starts at ${offset}, inside a block of ${blockSize}`);
    const first = offset / blockSize;
    const blocks = exponents.subarray(first, first + Math.ceil(length / blockSize));
    await quantized(slot, values.subarray(offset, offset + length), blocks, blockSize, workers, out.subarray(offset, offset + length));
  });
}

/**
 * Windows of packets one aggregator call carries at most: bounds the host memory a piece in
 * flight takes (its data staged from a GPU and the stream's result: 2 x 64 MiB of float32 at
 * W = 256 and 2048 values) and keeps the lead about 1/16 of a cut call's packets at most.
 */
export const MAX_PIECE_WINDOWS = 32;

/**
 * The aggregator calls covering `count` elements (see the top): one, unless the aggregator
 * takes packets and the count spans more than MAX_PIECE_WINDOWS windows of them. The same on
 * every rank (the packets are the job's).
 */
export function aggregatorPieces(count: number, packets: AggregatorPackets | undefined): Span[] {
  if (count === 0) return [];
  const whole = { offset: 0, length: count };
  if (packets === undefined) return [whole];
  const pieces = Math.ceil(count / (MAX_PIECE_WINDOWS * packets.window * packets.values));
  const per = Math.ceil(count / pieces / packets.values) * packets.values;
  return Array.from({ length: chunkCount(count, per) }, (_, i) => chunkOf(whole, i, per));
}

/** Reduces `work` (this rank's contribution, already premultiplied) in place on every rank. */
export async function aggregatorAllReduce(ctx: CollectiveContext, work: Region, aggregation: Aggregation): Promise<void> {
  const { aggregator, dtype, op } = aggregation;
  const pieces = aggregatorPieces(work.length, aggregator.packets);
  await runPipelines(pieces.length, ctx.pipelineDepth, async (slot) => {
    const piece = pieces[slot]!;
    await aggregateChunk(ctx.memory, work, piece.offset, piece.length, slot, aggregator, dtype, op);
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
export function switchRefusal(call: { readonly dtype: DataType; readonly op?: ReduceOp; readonly ranks: number; readonly aggregatorWorkers?: number }): string | undefined {
  if (call.op === undefined) return 'the switch algorithm only reduces';
  if (aggregateOp(call.op) !== 'sum') return `the switch algorithm does not support op ${String(call.op)} (it supports sum, avg and premulSum)`;
  const workers = call.aggregatorWorkers ?? call.ranks;
  if (workers > SWITCH_MAX_RANKS) {
    return call.aggregatorWorkers === undefined
      ? `the switch algorithm serves at most ${SWITCH_MAX_RANKS} ranks (its worker bitmap), not ${call.ranks}`
      : `the switch algorithm serves at most ${SWITCH_MAX_RANKS} workers per switch (its worker bitmap: hosts, or ranks at a leaf and leaves at the root), not ${workers}`;
  }
  return undefined;
}
