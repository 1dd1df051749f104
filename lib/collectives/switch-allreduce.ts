// The switch allreduce (the algorithm row 'switch'): flat, every rank a worker of the switch job
// (aggregator-allreduce.ts), or with the host-local hierarchy (switchHierarchy 'host'): the
// ranks of one host send their chunk to the host's leader (its lowest rank) over the call's link (shm or
// inproc between ranks of a host, whatever the communicator's transport is), the leader folds
// them into its own in rank order, sends the host's sum through the aggregator (the switch job
// has one worker per host), finalizes, and sends the total back to its ranks. A host's ranks
// thus cross the network once per host instead of once per rank, and a switch job of 32
// workers serves 32 hosts. Float32 adds one rounding per local fold before quantization (the
// switch's bound then holds for the per-host sums, with n = hosts); int32 stays exact.
// The leader's aggregator calls are the flat path's pieces (aggregatorPieces: the whole call
// unless it is large), cut across the link's chunks, so the ranks send every chunk before they
// await any total.
import { internalError } from '../errors.js';
import { aggregateChunk, aggregatorAllReduce, aggregatorPieces } from './aggregator-allreduce.js';
import type { CollectiveContext, Region } from './context.js';
import { chunkCount, chunkOf, type Span } from './partition.js';
import { runPipelines } from './pipeline.js';
import { streamPackets } from '../switch/allreduce-stream.js';
import { DEFAULT_WINDOW } from '../switch/control-protocol.js';
import { HEADER_BYTES, MAX_SIZE_CLASS, valuesOf } from '../switch/packet.js';
import type { Traffic, TrafficCall } from './traffic.js';

export async function hostLocalAllReduce(ctx: CollectiveContext, work: Region, hostRanks: readonly number[]): Promise<void> {
  const [leader, ...peers] = hostRanks;
  const whole = { offset: 0, length: work.length };
  const chunks = chunkCount(work.length, ctx.chunkElements);
  const chunk = (index: number) => chunkOf(whole, index, ctx.chunkElements);
  const { link, memory } = ctx;
  if (ctx.rank !== leader) {
    // The leader answers a chunk once the aggregator call of every piece holding part of it is
    // done (the whole call, for most): every chunk goes out before any total is awaited.
    await Promise.all([
      runPipelines(chunks, ctx.pipelineDepth, async (index) => {
        const { offset, length } = chunk(index);
        await link.send(leader!, index, await memory.read(work, offset, length));
      }),
      runPipelines(chunks, ctx.pipelineDepth, async (index) => {
        const { offset, length } = chunk(index);
        const total = await link.recv(leader!, index);
        await memory.write(work, offset, length, total);
        link.release(total);
      }),
    ]);
    return;
  }
  const { aggregation } = ctx;
  if (!aggregation) throw internalError('the switch algorithm ran on a host leader without an aggregator');
  const { aggregator, dtype, op } = aggregation;
  // Each chunk is folded once (the peers' partials in rank order), when the first piece holding
  // part of it needs it; the next piece's are received while the aggregator runs this one.
  const folds = new Map<number, Promise<void>>();
  const fold = (index: number): Promise<void> => {
    let folding = folds.get(index);
    if (folding === undefined) {
      folding = (async () => {
        const { offset, length } = chunk(index);
        const partials = await Promise.all(peers.map((peer) => link.recv(peer, index)));
        for (const partial of partials) {
          await memory.accumulate(work, offset, length, partial);
          link.release(partial);
        }
      })();
      folding.catch(() => undefined); // awaited by its piece; a failure before then is not unhandled
      folds.set(index, folding);
    }
    return folding;
  };
  /** The link chunks holding part of `piece`. */
  const chunksOf = (piece: Span) => {
    const first = Math.floor(piece.offset / ctx.chunkElements);
    return Array.from({ length: chunkCount(piece.offset + piece.length, ctx.chunkElements) - first }, (_, i) => first + i);
  };
  const answers: Promise<void>[] = [];
  const answer = async (index: number) => {
    const { offset, length } = chunk(index);
    const total = await memory.read(work, offset, length);
    await Promise.all(peers.map((peer) => link.send(peer, index, total)));
  };
  const pieces = aggregatorPieces(work.length, aggregator.packets);
  let answered = 0;
  for (const [slot, piece] of pieces.entries()) {
    await Promise.all(chunksOf(piece).map(fold));
    const next = pieces[slot + 1];
    if (next !== undefined) for (const index of chunksOf(next)) void fold(index);
    await aggregateChunk(memory, work, piece.offset, piece.length, slot, aggregator, dtype, op);
    // The chunks that end within the pieces done so far are final.
    const end = piece.offset + piece.length;
    for (const last = end === work.length ? chunks : Math.floor(end / ctx.chunkElements); answered < last; answered++) {
      const answering = answer(answered);
      answering.catch(() => undefined); // awaited below
      answers.push(answering);
    }
  }
  await Promise.all(answers);
}

/** The switch's allreduce: through the aggregator the communicator bound into the call, or through the host's leader under switchHierarchy 'host'. */
export function switchAllReduce(ctx: CollectiveContext, work: Region): Promise<void> {
  if (ctx.hostRanks !== undefined) return hostLocalAllReduce(ctx, work, ctx.hostRanks);
  const aggregation = ctx.aggregation;
  if (!aggregation) return Promise.reject(internalError('the switch algorithm ran without an aggregator'));
  return aggregatorAllReduce(ctx, work, aggregation);
}

/** Where a float32 switch call's exponents are agreed (the agreed configuration's switchExponents). */
export type SwitchExponents = 'link' | 'stream' | 'auto';

/**
 * The fewest ranks at which switchExponents 'auto' agrees in the stream. Before a float32 call's
 * packets can leave, the link's agreement must wake every rank's JavaScript to read the last
 * rank's exponents, and on the rack (docs/PERFORMANCE.md, "sw10" and "sw12") that wait grows
 * with the ranks woken: 3.8-8 ms of an 18-25 ms 1 MiB call at 4 ranks, 9.2 of ~35 at 8. The
 * stream's lead wakes only the sockets' receive threads (the switch answers the last rank's
 * headers), and costs a round trip of headers and min(W, chunks) more datagrams. At 8 ranks it
 * won every alternated pair at 1 and 4 MiB; at 4 ranks, with the native lead (sw10), it won
 * every pair at 1 MiB (about 0.8 of the link's time) and tied at 4 and 16 MiB. Below 4 the
 * link (which keeps GPU buffers on the switchml kernels) stays: not measured there.
 */
export const STREAM_EXPONENTS_RANKS = 4;

/** Whether a float32 switch call of a communicator of `ranks` agrees its exponents in the stream. */
export function exponentsInStream(mode: SwitchExponents | undefined, ranks: number): boolean {
  return mode === 'stream' || (mode === 'auto' && ranks >= STREAM_EXPONENTS_RANKS);
}

/**
 * Values a switch packet carries where a call to the model does not say (switchPacketValues):
 * what 'auto' agrees on loopback, the perf CLI's local switch.
 */
const MODEL_PACKET_VALUES = valuesOf(MAX_SIZE_CLASS);

/**
 * Cost of the switch (lib/collectives/traffic.ts): one round trip through the aggregator, each
 * rank's bytes out once and back once, in the packets the switch handles one at a time (its
 * per-packet cost; the window keeps them in flight): those the streams of the call's pieces
 * send (aggregatorPieces, streamPackets), at the job's packet size and the default window.
 * Where a float call's exponents are agreed (switchExponents and the rank count, as
 * exponentsInStream decides for the communicator; undefined: the link):
 * - over the link (lib/comm/switch-float.ts): one more hop and a message to each peer before the
 *   streams (the direct exchange of a small array), whose packets then carry int32 only;
 * - in the stream (SwitchML's lead): no exchange, but each piece's stream sends min(W, chunks)
 *   header-only packets first and a chunk's data leaves when its header's result is back, a
 *   second round trip through the switch (two more hops). A header-only packet moves
 *   HEADER_BYTES where a data packet moves packetBytes: it is counted as that share of a packet
 *   (π is fitted on full packets, which the switch spends on their values and bytes).
 * Calibration fits π on the same count, in the mode its world runs.
 */
export function switchAllReduceTraffic({ bytes, ranks, switchPacketValues, switchExponents }: TrafficCall): Traffic {
  const packets = { values: switchPacketValues ?? MODEL_PACKET_VALUES, window: DEFAULT_WINDOW };
  const pieces = aggregatorPieces(Math.ceil(bytes / 4), packets);
  const data = pieces.reduce((sum, piece) => sum + streamPackets(piece.length, packets.values, packets.window, false), 0);
  if (!exponentsInStream(switchExponents, ranks)) return { messages: 3, sends: ranks, linkBytes: bytes, reducedBytes: 0, packets: Math.max(1, data) };
  const lead = pieces.reduce((sum, piece) => sum + streamPackets(piece.length, packets.values, packets.window, true), 0) - data;
  const leadShare = HEADER_BYTES / (HEADER_BYTES + 4 * packets.values);
  return { messages: 4, sends: 1, linkBytes: bytes, reducedBytes: 0, packets: Math.max(1, data) + lead * leadShare };
}
