// A place outside the ranks that reduces what every rank sends and returns the total: NCCL's
// CollNet, SwitchML's programmable switch. The switch will implement it; a schedule over it
// (lib/collectives/aggregator-allreduce.ts) sends each chunk once and receives the total once,
// instead of the ring's 2(n-1) steps.
import type { DataType } from '../dtype.js';

/**
 * How an aggregator combines contributions. avg and premulSum arrive as sum: ranks premultiply
 * their own input before, and divide (finalize) after.
 */
export type AggregateOp = 'sum' | 'prod' | 'min' | 'max';

export interface Aggregator {
  /**
   * Contributes this rank's `count` elements (`payload`, as the call's memory encodes them) to
   * slot `slot` of the current call, and resolves with the total over every rank, in the same
   * encoding. Every rank contributes to every slot once per call; slots of one call are
   * independent (pipelined chunks), and totals must not depend on the order ranks arrive in.
   */
  allReduce(slot: number, payload: Uint8Array, count: number, dtype: DataType, op: AggregateOp): Promise<Uint8Array>;
}
