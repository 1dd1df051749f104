// What a schedule costs, in the units a cost model prices (lib/tune/model.ts): the messages in
// sequence on its critical path (each pays the link's latency α), the messages the busiest
// rank sends (each pays both ends' fixed work, o, whether or not others are in flight at the
// same time: the direct exchange's n-1 concurrent messages cost α once and o n-1 times), the
// bytes that cross the busiest rank's link on that path (β per byte, scaled by a codec's
// ratio), the bytes the busiest rank folds into its memory (γ per byte of the memory kind)
// and, for an aggregator, the packets it sends (the switch's per-packet cost). Each algorithm
// states its own formula beside its schedule (the `traffic` member of its row in
// algorithms.ts), counting with the functions its schedule cuts the buffer with; this file
// holds only the shape and the arithmetic that several formulas share.
import type { CollectiveContext } from './context.js';
import { DEFAULT_PIPELINE_DEPTH } from './pipeline.js';
import { pipelinedChunkElements } from './partition.js';
import type { SwitchExponents } from './switch-allreduce.js';

export interface Traffic {
  /** Messages in sequence on the critical path (α each). */
  readonly messages: number;
  /** Messages the busiest rank sends, in sequence or at once (o each). */
  readonly sends: number;
  /**
   * Messages every rank sends, summed (undefined: ranks × sends, every rank sending as many as the
   * busiest): what a world whose ranks share one thread pays o for (allSendsOf).
   */
  readonly allSends?: number;
  /** Bytes the busiest rank sends on the critical path (β each, times a codec's ratio). */
  readonly linkBytes: number;
  /** Bytes the busiest rank folds into its memory (γ each). */
  readonly reducedBytes: number;
  /** Packets through an aggregator (the switch's per-packet cost each). */
  readonly packets?: number;
  /**
   * Bytes of each of the busiest rank's `sends` (the schedule's chunk as it cuts it; undefined:
   * the formula does not say, or the schedule sends no messages): the model prices them by
   * reference where a transport sends messages of that size so (CostParams.reference).
   */
  readonly messageBytes?: number;
  /**
   * A rooted pipeline's period: what its busiest rank's part costs a call where calls follow
   * back to back, as webccl-perf (and nccl-tests) time them. Its ranks do not finish together
   * (the root is done after its sends, a leaf after its receive), so the next call's chunks
   * enter the chain while the last one's leave it, and a call takes one stage's chunks, not the
   * chain's fill as well (docs/PERFORMANCE.md, stream28). Undefined where the ranks finish
   * together (the allreduces): the call's own figures.
   */
  readonly stream?: Pick<Traffic, 'messages' | 'linkBytes' | 'slowRankBytes'>;
  /**
   * Bytes that cross the link of the rank behind the slowest link in turn, each way, with that
   * rank placed as the schedule places it (tree-topology.ts: a rooted tree's leaf, the double
   * binary tree's least-loaded label): what the model prices at that link's ratio where
   * calibration measured it (CostParams.slowLink, model.ts's wireBytes). Undefined: the busiest
   * rank's linkBytes each way (every rank alike: the ring, the direct exchange, the mesh, the
   * switch).
   */
  readonly slowRankBytes?: SlowRankBytes;
  /**
   * Where the call is one half of its schedule's allreduce of this many bytes (the ring's
   * reduce-scatter and all-gather of b bytes a rank: the allreduce of n·b runs the same messages,
   * of the same size, over a buffer of the same size, and then the other half): the model prices
   * its link bytes at that allreduce's point of the β curve (calibration times allreduces), not
   * at the point of its own link bytes, an allreduce of half as many bytes whose messages are
   * half the size (docs/PERFORMANCE.md, halves39). Undefined: at its own link bytes.
   */
  readonly halfOfAllReduce?: number;
}

/** Bytes the slow rank sends and receives over its link in a call (Traffic.slowRankBytes). */
export interface SlowRankBytes {
  readonly sent: number;
  readonly received: number;
}

/** The arguments every formula gets: bytes per rank, the rank count, the agreed chunk size and pipeline depth. */
export interface TrafficCall {
  readonly bytes: number;
  readonly ranks: number;
  /** Values per switch packet as the job agreed them, for the switch's formula (undefined: its default). */
  readonly switchPacketValues?: number;
  /** Where a float call's exponents are agreed, the communicator's setting, for the switch's formula (undefined: over the link). */
  readonly switchExponents?: SwitchExponents;
  readonly chunkBytes: number;
  /** Chunk pipelines in flight at once (undefined: DEFAULT_PIPELINE_DEPTH). */
  readonly pipelineDepth?: number;
}

/** The 16-byte alignment of segment boundaries (the communicator's alignElements of any dtype). */
const ALIGN_BYTES = 16;

/**
 * The call's cutting in bytes, as the schedule's context gives it in elements: counting in
 * one-byte elements with 16-byte alignment cuts any dtype's buffer at the same boundaries
 * (the communicator's chunkElements is the chunk size floored to 16 bytes, alignElements 16
 * bytes' worth), so the formulas can call the schedules' own partition functions.
 */
export function byteCut(call: TrafficCall): Pick<CollectiveContext, 'chunkElements' | 'alignElements' | 'pipelineDepth'> {
  return {
    chunkElements: Math.max(ALIGN_BYTES, Math.floor(call.chunkBytes / ALIGN_BYTES) * ALIGN_BYTES),
    alignElements: ALIGN_BYTES,
    pipelineDepth: call.pipelineDepth ?? DEFAULT_PIPELINE_DEPTH,
  };
}

/** Waves of `pipelines` chunk pipelines run `depth` at a time: each wave's messages are in sequence, the pipelines of one wave overlap. */
export function waves(pipelines: number, depth: number): number {
  return Math.ceil(pipelines / Math.max(1, depth));
}

/** A schedule's traffic for a call; undefined where the formula does not describe it (the model then never picks it). */
export type TrafficFormula = (call: TrafficCall) => Traffic | undefined;

/**
 * The largest piece a schedule stores and forwards whole at every hop (the trees, the rooted
 * chains), whatever the agreed chunk. ntcp's chunk grows with the ranks for the ring
 * allreduce's sake, whose messages are a chunk's n-th (each message costs a post, a completion
 * and JavaScript: 32 MiB from 8 ranks); sent whole at every hop, such pieces ran 8 ntcp ranks'
 * tree allreduce at half the busbw of 8 MiB pieces between network namespaces, and their tree
 * broadcast and reduce 4-6x slower on loopback (docs/PERFORMANCE.md, piece27). shm's 8 MiB
 * chunk and the others' 1 MiB are under it.
 */
export const STORED_PIECE_BYTES = 8 << 20;

/** Elements a stored piece holds: the agreed chunk's, at most STORED_PIECE_BYTES (alignElements span ALIGN_BYTES). */
export function storedPieceElements(chunkElements: number, alignElements: number): number {
  return Math.min(chunkElements, (STORED_PIECE_BYTES / ALIGN_BYTES) * alignElements);
}

/**
 * Elements of each piece a rooted pipeline (the chains, the rooted trees) cuts a call of `count`
 * elements into: a stored piece, made smaller where that would leave fewer pieces than the
 * pipeline depth, down to a quarter of it, as the ring allreduce cuts its segments
 * (pipelinedChunkElements). A call of one piece crosses each hop whole before the next hop
 * begins (three hops in sequence at 4 ranks); back to back, 4 tcp ranks' 1 MiB ring broadcast
 * took 1.7-1.8 hops' time, and 1.1 once cut (docs/PERFORMANCE.md, piece39). A function of agreed
 * values and the call's count only, so every rank cuts alike.
 */
export function rootedPieceElements(count: number, cut: Pick<CollectiveContext, 'chunkElements' | 'alignElements' | 'pipelineDepth'>): number {
  return pipelinedChunkElements(count, storedPieceElements(cut.chunkElements, cut.alignElements), cut.pipelineDepth, cut.alignElements);
}

/** Chunks a piece of `bytes` is cut into (at least one, so an empty call still sends a message). */
export function chunksOf(bytes: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(bytes / chunkBytes));
}

/** ceil(log2 n): the depth of a binary tree over n ranks (0 for one rank). */
export function treeDepth(ranks: number): number {
  return ranks <= 1 ? 0 : Math.ceil(Math.log2(ranks));
}

/** The messages every rank of `ranks` sends together: the formula's own count, else ranks × the busiest rank's. */
export function allSendsOf(traffic: Pick<Traffic, 'sends' | 'allSends'>, ranks: number): number {
  return traffic.allSends ?? ranks * traffic.sends;
}

/**
 * A pipeline of the call's bytes through `stages` hops in sequence, cut in chunks as the rooted
 * schedules cut it (rootedPieceElements), from a root to the other ranks (or from them to it):
 * the last chunk leaves the first hop after chunks - 1 stage times and needs `stages` more, so
 * stages + chunks - 1 stage times, each one message of bytes / chunks (times `fanout` where an
 * inner rank has several children: a broadcast's sends each piece to each in turn over its
 * outgoing link, a reduce's receives each child's piece in turn over its incoming one); an inner
 * rank sends every chunk (to each child, in a broadcast; once, to its parent, in a reduce), and
 * every rank but the root receives each chunk once (a broadcast) or sends it once (a reduce):
 * ranks - 1 messages a chunk in all.
 * Calls back to back (`stream`) overlap along the chain: each costs one stage's chunks.
 * `leaves`: a rooted tree's, which receive (a broadcast) or send (a reduce) each chunk once; the
 * schedule places the slow rank at one (rootedLabels), so it carries `bytes` in turn over its
 * link and nothing the other way (the pipeline's fill crosses the others' links), and an inner
 * rank sends each chunk to every child (a broadcast) or once, to its parent (a reduce).
 * Undefined: a chain, whose ranks each receive and send every chunk, the slow one as the busiest.
 */
export function pipelined(stages: number, call: TrafficCall, fanout = 1, leaves?: 'receive' | 'send'): Pick<Traffic, 'messages' | 'sends' | 'allSends' | 'linkBytes' | 'messageBytes' | 'stream' | 'slowRankBytes'> {
  if (stages === 0) return { messages: 0, sends: 0, allSends: 0, linkBytes: 0 };
  const { bytes, ranks } = call;
  const chunks = chunksOf(bytes, rootedPieceElements(bytes, byteCut(call)));
  const steps = stages + chunks - 1;
  // The leaf's bytes are the call's, alone or back to back.
  const leaf = leaves === undefined ? {} : { slowRankBytes: leaves === 'receive' ? { sent: 0, received: bytes } : { sent: bytes, received: 0 } };
  const sendsPerChunk = leaves === 'send' ? 1 : fanout;
  return {
    messages: steps, sends: chunks * sendsPerChunk, allSends: (ranks - 1) * chunks, linkBytes: (steps * fanout * bytes) / chunks, messageBytes: bytes / chunks, ...leaf,
    // Back to back, a call costs one stage: its chunks in sequence, to each child.
    stream: { messages: chunks, linkBytes: fanout * bytes, ...leaf },
  };
}
