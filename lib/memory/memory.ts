// The memory seam: where data meets a schedule. Collective algorithms (lib/collectives) touch
// data only through Memory; the adapters beside their kernels implement it (lib/cpu/cpu-memory.ts
// on TypedArrays, lib/gpu/gpu-memory.ts on GPUBuffers), and lib/comm wires them. A MemorySpace
// (host or one GPU device) makes regions of checked buffers and binds a call's dtype and op into
// a CallMemory: the collectives' Memory plus the two steps the communicator itself takes before
// an algorithm runs (copying the input into the working buffer and premultiplying it for premulSum).
import type { DataType, ReduceOp } from '../dtype.js';
import type { Located } from './buffers.js';
import type { Codec } from './codec.js';
import type { Landing } from './landing.js';

export type { Landing } from './landing.js';

/** A span of elements the Memory knows how to reach. Opaque to algorithms but for its length. */
export interface Region {
  /** Number of elements. */
  readonly length: number;
}

/**
 * Data access and arithmetic for one call: the dtype and reduction op are bound by whoever
 * created it. Offsets and counts are in elements. Every method may be asynchronous (a GPU
 * works through a queue); results are visible to the next call that awaits them.
 */
export interface Memory {
  /** A copy of `count` elements at `at`, as bytes the caller owns (e.g. to send them). */
  read(source: Region, at: number, count: number): Promise<Uint8Array>;
  /**
   * `count` elements at `at` as bytes to send: the region's own memory where it can be sent
   * from directly (host arrays: no copy), else a copy. The caller must not change those
   * elements until the send has resolved, nor hand the bytes to anyone who keeps them.
   */
  outgoing(source: Region, at: number, count: number): Promise<Uint8Array>;
  /**
   * Overwrites `count` elements at `at` with `bytes` (received from a peer). Every method that
   * takes received bytes states their element count and checks the payload's size against it
   * (see payload.ts): a payload of another size is an error naming the sender's side, never
   * taken for fewer elements.
   */
  write(target: Region, at: number, count: number, bytes: Uint8Array): Promise<void>;
  /** `target[at..at+count) = target[at..at+count) ⊕ bytes`: folds a peer's partial result into ours. */
  accumulate(target: Region, at: number, count: number, bytes: Uint8Array): Promise<void>;
  /**
   * The last step of a reduction, on the fully reduced elements this rank owns (NCCL does it
   * after reduce-scatter): avg divides by the rank count; other ops leave the data as it is.
   */
  finalize(target: Region, at: number, count: number): Promise<void>;

  // NCCL-style fused primitives: one step of a schedule as one call, so that a memory whose
  // work goes through a queue (a GPU) makes one round trip where separate calls made two.
  // Bytes they return are to be sent on, with `outgoing`'s contract: the caller does not change
  // those elements until the send has resolved, nor hands the bytes to anyone who keeps them.
  // Results are bit-identical to the separate calls named in each.

  /**
   * NCCL's recvReduceSend: folds a peer's partial result into ours and returns the result to
   * forward (`accumulate`, then `outgoing` of the same elements).
   */
  recvReduceSend(target: Region, at: number, count: number, received: Uint8Array): Promise<Uint8Array>;
  /**
   * NCCL's recvReduceCopySend: folds, finalizes (avg) and stores the final result, and returns
   * it to forward (`accumulate`, `finalize`, then `outgoing`): the last reduce-scatter step of
   * allreduce, whose bytes start the all-gather.
   */
  recvReduceCopySend(target: Region, at: number, count: number, received: Uint8Array): Promise<Uint8Array>;
  /**
   * NCCL's recvCopySend: stores received bytes and returns the bytes to forward (`write`, then
   * the received bytes themselves, or bytes made from them). The caller releases `received`
   * once the returned bytes have been sent.
   */
  recvCopySend(target: Region, at: number, count: number, received: Uint8Array): Promise<Uint8Array>;
  /**
   * The whole reduction of a small call at once (direct allreduce): `write(target, at, count,
   * payloads[0])` when `overwrite` (else payloads[0] is accumulated too), `accumulate` of each
   * later payload in order, then `finalize`. Every payload holds `count` elements. A GPU
   * memory records it all into one submission instead of one round trip per payload.
   */
  recvReduceAll(target: Region, at: number, count: number, payloads: readonly Uint8Array[], overwrite: boolean): Promise<void>;

  /**
   * Optional (fused receive, landing.ts): where a payload for elements [at, at + count) may be
   * applied on arrival, folded in (`fold`: what accumulate would do) or copied (what write
   * would do); undefined where this memory cannot take it (a GPU buffer, a codec). A payload
   * that is such a landing's `target` has been applied: write, accumulate and the fused
   * primitives given it skip that step and do the rest.
   */
  landing?(target: Region, at: number, count: number, fold: boolean): Landing | undefined;

  /**
   * Optional: elements [at, at + count) of `target` as the region's own bytes, for a caller that
   * reads them and then has them overwritten in place (an aggregator writes its total over what
   * it was handed): no copy out (read) and none back, since `write` of those very bytes does
   * nothing. Undefined where this memory cannot lend them (a GPU buffer, a codec); then read.
   */
  inPlace?(target: Region, at: number, count: number): Uint8Array | undefined;
}

export interface CallMemory extends Memory {
  /** Copies `count` elements; the two ranges may overlap. */
  copy(target: Region, targetAt: number, source: Region, sourceAt: number, count: number): Promise<void>;
  /** premulSum: multiplies this rank's own input by the scalar before anything combines it. */
  premultiply(target: Region, at: number, count: number): Promise<void>;
  /**
   * Resolves once every piece of work the call left unchecked (GPU writes and copies nobody
   * waited for) is known to have been accepted; rejects otherwise. Awaited before a call resolves.
   * Undefined: nothing to wait for (host memory, whose work is done when its method returns).
   * Called only after the algorithm succeeded, so every send it made has resolved: what the call
   * handed out to send (host memory's pooled encoded payloads) may be reused from here on.
   */
  finish(): Promise<void> | undefined;
}

/** Working memory borrowed for one call. */
export interface Scratch {
  readonly region: Region;
  release(): void;
  /**
   * The call that held it failed: branches of that call may still be running and touch it, so
   * it must not be handed out again (pooled memory is left to the collector). Absent: release.
   */
  abandon?(): void;
}

export interface MemorySpace {
  readonly kind: Located['kind'];
  /** Checks, before anything is sent, that `count` elements of the buffer are usable here. */
  check(what: string, located: Located, dtype: DataType, count: number): void;
  /**
   * Checks, when the call's turn comes and before anything is sent, that the buffers are still
   * usable (not detached, destroyed or of another device); rejects with a buffer state error.
   * Undefined: checked already (host memory checks at once, and throws the buffer state error).
   */
  verify(buffers: readonly Located[]): Promise<void> | undefined;
  /** Sub-regions (blocks of allGather and the like) must start on a multiple of this many elements. */
  startAlignment(dtype: DataType): number;
  /** Elements [first, first + count) of a located buffer of this space's kind. */
  region(located: Located, dtype: DataType, first: number, count: number): Region;
  scratch(dtype: DataType, count: number): Scratch;
  /**
   * `count` float32 zeros that live until released (an error-feedback residual: on the device
   * for a GPU space, so encoding never moves it to the host). `lifetime` 'kept' (a feedback
   * key's, outliving calls) or 'call' (zeros for one call alone, which a space may pool).
   */
  residual(count: number, lifetime?: 'kept' | 'call'): Scratch;
  /**
   * Binds a call: dtype, op (undefined where none), the rank count avg divides by, and the
   * call's codec (default none), which the memory applies to what it sends and receives. A
   * codec with error feedback encodes element `at + i` of a call's work region with element
   * `at + i` of `residual` (zeros for the call alone when none is given). A codec this memory
   * cannot run is refused here (InvalidArgument), before anything is sent.
   */
  bind(dtype: DataType, op: ReduceOp | undefined, ranks: number, codec?: Codec, residual?: Region): CallMemory;
  /** The shared-exponent integer codec's three local steps on this memory's regions. */
  readonly switchml: SwitchmlSteps;
  /** Frees pooled staging and scratch memory. */
  release(): void;
}

/**
 * SwitchML's local steps (lib/cpu/switchml.ts, shaders/switchml.wgsl) for the 'integer' codec
 * scheme: every rank computes its block exponents, the ranks agree on their max, quantize to
 * int32 with it, sum the integers exactly and dequantize the sum. Regions hold float32 values,
 * int32 values or one int32 exponent per block of `blockSize`.
 */
export interface SwitchmlSteps {
  exponents(src: Region, count: number, blockSize: number, out: Region): Promise<void>;
  quantize(src: Region, exponents: Region, count: number, blockSize: number, workers: number, out: Region): Promise<void>;
  dequantize(sums: Region, exponents: Region, count: number, blockSize: number, workers: number, out: Region): Promise<void>;
  /** float16/bfloat16 `src` to float32 `out`, exactly: a switch call's 16-bit elements before the steps. */
  widen(src: Region, dtype: 'float16' | 'bfloat16', count: number, out: Region): Promise<void>;
  /** float32 `src` to float16/bfloat16 `out`, rounded to nearest even: the sum back after them. */
  narrow(src: Region, dtype: 'float16' | 'bfloat16', count: number, out: Region): Promise<void>;
}
