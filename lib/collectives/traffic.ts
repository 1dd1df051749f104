// What a schedule costs, in the units a cost model prices (lib/tune/model.ts): the messages on
// its critical path (each pays the per-message latency α), the bytes that cross the busiest
// rank's link on that path (β per byte, scaled by a codec's ratio), the bytes the busiest rank
// folds into its memory (γ per byte of the memory kind) and, for an aggregator, the packets it
// sends (the switch's per-packet cost). Each algorithm states its own formula beside its
// schedule (the `traffic` member of its row in algorithms.ts); this file holds only the shape
// and the arithmetic that several formulas share.

export interface Traffic {
  /** Messages in sequence on the critical path (α each). */
  readonly messages: number;
  /** Bytes the busiest rank sends on the critical path (β each, times a codec's ratio). */
  readonly linkBytes: number;
  /** Bytes the busiest rank folds into its memory (γ each). */
  readonly reducedBytes: number;
  /** Packets through an aggregator (the switch's per-packet cost each). */
  readonly packets?: number;
}

/** The arguments every formula gets: bytes per rank, the rank count and the agreed chunk size. */
export interface TrafficCall {
  readonly bytes: number;
  readonly ranks: number;
  /** Values per switch packet as the job agreed them, for the switch's formula (undefined: its default). */
  readonly switchPacketValues?: number;
  readonly chunkBytes: number;
}

/** A schedule's traffic for a call; undefined where the formula does not describe it (the model then never picks it). */
export type TrafficFormula = (call: TrafficCall) => Traffic | undefined;

/** Chunks a piece of `bytes` is cut into (at least one, so an empty call still sends a message). */
export function chunksOf(bytes: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(bytes / chunkBytes));
}

/** ceil(log2 n): the depth of a binary tree over n ranks (0 for one rank). */
export function treeDepth(ranks: number): number {
  return ranks <= 1 ? 0 : Math.ceil(Math.log2(ranks));
}

/**
 * A pipeline of `chunks` equal pieces of `bytes` through `stages` hops in sequence: the last
 * chunk leaves the first hop after chunks - 1 stage times and needs `stages` more, so
 * stages + chunks - 1 stage times, each one message of bytes / chunks (times `fanout` where a
 * rank sends each piece to several children).
 */
export function pipelined(stages: number, chunks: number, bytes: number, fanout = 1): Pick<Traffic, 'messages' | 'linkBytes'> {
  if (stages === 0) return { messages: 0, linkBytes: 0 };
  const steps = stages + chunks - 1;
  return { messages: steps, linkBytes: (steps * fanout * bytes) / chunks };
}
