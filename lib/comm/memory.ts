// Where a communicator's data lives. A MemorySpace (host or one GPU device) makes regions of
// checked buffers and binds a call's dtype and op into a CallMemory: the collectives' Memory
// plus the two steps the communicator itself takes before an algorithm runs (copying the input
// into the working buffer and premultiplying it for premulSum).
import type { Memory, Region } from '../collectives/context.js';
import type { DataType, ReduceOp } from '../dtype.js';
import type { Located } from './buffers.js';

export interface CallMemory extends Memory {
  /** Copies `count` elements; the two ranges may overlap. */
  copy(target: Region, targetAt: number, source: Region, sourceAt: number, count: number): Promise<void>;
  /** premulSum: multiplies this rank's own input by the scalar before anything combines it. */
  premultiply(target: Region, at: number, count: number): Promise<void>;
  /**
   * Resolves once every piece of work the call left unchecked (GPU writes and copies nobody
   * waited for) is known to have been accepted; rejects otherwise. Awaited before a call resolves.
   */
  finish(): Promise<void>;
}

/** Working memory borrowed for one call. */
export interface Scratch {
  readonly region: Region;
  release(): void;
}

export interface MemorySpace {
  readonly kind: Located['kind'];
  /** Checks, before anything is sent, that `count` elements of the buffer are usable here. */
  check(what: string, located: Located, dtype: DataType, count: number): void;
  /**
   * Checks, when the call's turn comes and before anything is sent, that the buffers are still
   * usable (not detached, destroyed or of another device); rejects with a buffer state error.
   */
  verify(buffers: readonly Located[]): Promise<void>;
  /** Sub-regions (blocks of allGather and the like) must start on a multiple of this many elements. */
  startAlignment(dtype: DataType): number;
  /** Elements [first, first + count) of a located buffer of this space's kind. */
  region(located: Located, dtype: DataType, first: number, count: number): Region;
  scratch(dtype: DataType, count: number): Scratch;
  /** Binds a call: dtype, op (undefined where none), and the rank count avg divides by. */
  bind(dtype: DataType, op: ReduceOp | undefined, ranks: number): CallMemory;
  /** Frees pooled staging and scratch memory. */
  release(): void;
}
