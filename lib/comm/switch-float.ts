// Float32 through the switch, as the communicator runs it: the ranks agree their block exponents
// over their own link first (an int32 max allreduce of one int32 per half packet), quantize the
// whole call with them where the buffers live (the GPU's switchml kernels for GPU buffers, the
// CPU's for host memory), and the switch sums int32 packets only (integer-allreduce.ts composes
// the steps; the switch's packets carry no exponents).
//
// SwitchML agrees exponents inside the packet stream instead, one window ahead (packet q carries
// the exponents of chunk q and the data of chunk q - L, lib/switch/allreduce-stream.ts; a raw
// SwitchWorker still does): that needs the data quantized chunk by chunk as results arrive, on
// the host, and sends min(W, chunks) packets of exponents only, which doubles the packets of a
// call up to a window (a 1 MiB call at 2048 values a packet: 256 packets instead of 128). Here the
// agreement is one small allreduce (1/1024 of the call's bytes at 2048 values a packet) and the
// quantization one kernel over the call. The same blocks (half packets from the call's start:
// the switch's pieces are whole packets), the same exponents and the same n give the same
// integers, so the results are SwitchML's bit for bit (test/comm-switch-agreed.test.ts).
//
// float16 and bfloat16 are widened to float32 where they live first (the cast kernels on a GPU)
// and the sum is rounded back once, as the switch's aggregator does on the host for the stream.
// Not for the host-local hierarchy (its leaders quantize per-host sums with n = hosts), which
// keeps the stream's scheme.
import { scheduleOf } from '../collectives/algorithms.js';
import type { CollectiveContext } from '../collectives/context.js';
import { aggregatorQuantizedSum } from '../collectives/aggregator-allreduce.js';
import { exponentsInStream, switchAllReduce, type SwitchExponents } from '../collectives/switch-allreduce.js';
import { isFloat, type DataType } from '../dtype.js';
import { internalError } from '../errors.js';
import { selectAlgorithm, type TuningConfig } from '../tune/select.js';
import type { CallMemory, MemorySpace, Region } from '../memory/memory.js';
import { integerAllReduce, integerSum, type IntegerSteps } from './integer-allreduce.js';

/**
 * The half packet a float32 switch call quantizes by, or undefined when the call keeps the
 * stream's own agreement (the host-local hierarchy, or switchExponents 'stream', or 'auto' from
 * STREAM_EXPONENTS_RANKS ranks, lib/collectives/switch-allreduce.ts).
 */
export function switchBlockSize(schedule: string, dtype: DataType, ctx: CollectiveContext, exponents: SwitchExponents | undefined): number | undefined {
  if (schedule !== 'switch' || !isFloat(dtype) || ctx.size < 2 || ctx.hostRanks !== undefined || exponentsInStream(exponents, ctx.size)) return undefined;
  const packets = ctx.aggregation?.aggregator.packets;
  return packets === undefined ? undefined : packets.values / 2;
}

/**
 * Reduces `work` (this rank's `dtype` input, premultiplied) in place on every rank, or, given
 * `source` (the input, not overlapping `work`), from it into `work`: the input is only read, so
 * an out-of-place call needs no copy first. `memory` is the call's, bound to `dtype`.
 */
export async function switchFloatAllReduce(
  ctx: CollectiveContext, memory: CallMemory, space: MemorySpace, steps: IntegerSteps, work: Region, dtype: DataType, blockSize: number, source?: Region,
): Promise<void> {
  if (dtype === 'float32') return integerAllReduce(ctx, memory, space, steps, work, blockSize, source);
  if (dtype !== 'float16' && dtype !== 'bfloat16') throw internalError(`the switch's float path was given ${dtype}`);
  const count = work.length;
  const wide = space.scratch('float32', count);
  try {
    if (count > 0) await space.switchml.widen(source ?? work, dtype, count, wide.region);
    await integerSum(ctx, space, steps, wide.region, blockSize);
    if (count > 0) await space.switchml.narrow(wide.region, dtype, count, work);
  } finally {
    wide.release();
  }
  await memory.finalize(work, 0, count);
}

/**
 * The exponents' max over the link by the algorithm auto picks for their size (never the switch,
 * which only sums), and the integers' sum through the switch.
 */
export function switchIntegerSteps(config: TuningConfig, ranks: number, count: number, blockSize: number): IntegerSteps {
  const exponentBytes = 4 * Math.ceil(count / blockSize);
  const { switch: _aggregator, ...linkOnly } = config;
  const agree = scheduleOf(selectAlgorithm('allReduce', exponentBytes, ranks, { ...linkOnly, algorithm: 'auto' }), 'allReduce');
  return {
    agree,
    sum: (ctx, work) => switchAllReduce({ ...ctx, aggregation: { ...ctx.aggregation!, dtype: 'int32', op: 'sum' } }, work),
    // The switch's worker quantizes into each packet and dequantizes each result (flat jobs:
    // switchBlockSize keeps the host-local hierarchy off this path).
    quantized: (ctx) => {
      const aggregator = ctx.aggregation?.aggregator;
      if (aggregator?.allReduceQuantized === undefined) return undefined;
      return (values, exponents, blockSize, workers, out) => aggregatorQuantizedSum(ctx, aggregator, values, exponents, blockSize, workers, out);
    },
  };
}
