// The switch allreduce (the algorithm row 'switch'): flat, every rank a worker of the switch job
// (aggregator-allreduce.ts), or with the host-local hierarchy (switchHierarchy 'host'): the
// ranks of one host send their chunk to the host's leader (its lowest rank) over the call's link (shm or
// inproc between ranks of a host, whatever the communicator's transport is), the leader folds
// them into its own in rank order, sends the host's sum through the aggregator (the switch job
// has one worker per host), finalizes, and sends the total back to its ranks. A host's ranks
// thus cross the network once per host instead of once per rank, and a switch job of 32
// workers serves 32 hosts. Float32 adds one rounding per local fold before quantization (the
// switch's bound then holds for the per-host sums, with n = hosts); int32 stays exact.
import { internalError } from '../errors.js';
import { aggregateChunk, aggregatorAllReduce } from './aggregator-allreduce.js';
import type { CollectiveContext, Region } from './context.js';
import { chunkCount, chunkOf } from './partition.js';
import { runPipelines } from './pipeline.js';
import { DEFAULT_SIZE_CLASS, valuesOf } from '../switch/packet.js';
import type { Traffic, TrafficCall } from './traffic.js';

export async function hostLocalAllReduce(ctx: CollectiveContext, work: Region, hostRanks: readonly number[]): Promise<void> {
  const { rank, link, memory, chunkElements, aggregation } = ctx;
  const [leader, ...peers] = hostRanks;
  if (leader === rank && !aggregation) throw internalError('the switch algorithm ran on a host leader without an aggregator');
  const whole = { offset: 0, length: work.length };
  await runPipelines(chunkCount(work.length, chunkElements), ctx.pipelineDepth, async (chunk) => {
    const piece = chunkOf(whole, chunk, chunkElements);
    if (rank !== leader) {
      await link.send(leader!, chunk, await memory.read(work, piece.offset, piece.length));
      const total = await link.recv(leader!, chunk);
      await memory.write(work, piece.offset, piece.length, total);
      link.release(total);
      return;
    }
    const partials = await Promise.all(peers.map((peer) => link.recv(peer, chunk)));
    for (const partial of partials) {
      await memory.accumulate(work, piece.offset, piece.length, partial);
      link.release(partial);
    }
    const { aggregator, dtype, op } = aggregation!;
    await aggregateChunk(memory, work, piece.offset, piece.length, chunk, aggregator, dtype, op);
    if (peers.length === 0) return;
    const total = await memory.read(work, piece.offset, piece.length);
    await Promise.all(peers.map((peer) => link.send(peer, chunk, total)));
  });
}

/** The switch's allreduce: through the aggregator the communicator bound into the call, or through the host's leader under switchHierarchy 'host'. */
export function switchAllReduce(ctx: CollectiveContext, work: Region): Promise<void> {
  if (ctx.hostRanks !== undefined) return hostLocalAllReduce(ctx, work, ctx.hostRanks);
  const aggregation = ctx.aggregation;
  if (!aggregation) return Promise.reject(internalError('the switch algorithm ran without an aggregator'));
  return aggregatorAllReduce(ctx, work, aggregation.aggregator, aggregation.dtype, aggregation.op);
}

/**
 * Cost of the switch (lib/collectives/traffic.ts): one round trip through the aggregator, each
 * rank's bytes out once and back once, in packets that the switch handles one at a time (its
 * per-packet cost; the window keeps them in flight). Packets are counted in SwitchML's
 * 64-value unit whatever the job's agreed packet size (switchPacketValues): calibration fits the
 * per-packet cost on the same count, so it is the cost per 64 values at the agreed size.
 */
export function switchAllReduceTraffic({ bytes }: TrafficCall): Traffic {
  return { messages: 2, sends: 1, linkBytes: bytes, reducedBytes: 0, packets: Math.max(1, Math.ceil(bytes / (4 * valuesOf(DEFAULT_SIZE_CLASS)))) };
}
