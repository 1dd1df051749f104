// The 'integer' codec scheme (switchml) as a composition of plain allreduces: each rank takes
// its block exponents, the ranks agree on the max (an int32 max allreduce of 4 bytes per block),
// quantize to int32 with it, sum the integers exactly (an int32 sum allreduce: any algorithm,
// any order, the same sum) and dequantize it. Every rank dequantizes the same integers with the
// same exponents, so every rank ends with the same bits. The schedules run unchanged over
// memories bound to int32; their messages are told apart from each other by tag ranges.
import type { CollectiveContext, Link, Memory, Region } from '../collectives/context.js';
import type { CallMemory, MemorySpace } from '../memory/memory.js';
import { traceMark } from '../switch/call-trace.js';
import { TAG_LIMIT } from './signature.js';

/** Tags of the exponent agreement start here; the sum's start at 0 (both far below the ring check's). */
const EXPONENT_TAGS = TAG_LIMIT / 2;

function offsetLink(link: Link, base: number): Link {
  return {
    send: (peer, tag, payload) => link.send(peer, base + tag, payload),
    recv: (peer, tag, landing) => link.recv(peer, base + tag, landing),
    release: (payload) => link.release(payload),
  };
}

export type AllReduceSchedule = (ctx: CollectiveContext, work: Region) => Promise<void>;

/** The sum of host float32 `values` into `out` (values itself, or not overlapping them), quantized and dequantized with the agreed `exponents` on the way (one per block). */
export type QuantizedSum = (values: Float32Array, exponents: Int32Array, blockSize: number, workers: number, out: Float32Array) => Promise<void>;

/** The two allreduces of the scheme: the exponents' int32 max, and the quantized values' int32 sum. */
export interface IntegerSteps {
  readonly agree: AllReduceSchedule;
  readonly sum: AllReduceSchedule;
  /**
   * Optional: where the call's sum can run on the float32 values themselves, quantizing as it
   * sends (a switch's packets, Aggregator.allReduceQuantized), the step that does. Taken for
   * host memory: the int32 copy of the call, and the passes that fill and read it, are saved.
   */
  readonly quantized?: (ctx: CollectiveContext) => QuantizedSum | undefined;
}

/**
 * Reduces `work` (count float32 values, this rank's input) in place on every rank, or, given
 * `source` (the input, of work's length, not overlapping it), from `source` into `work`. `memory`
 * is the call's float32 memory (avg's division runs there, on the dequantized sum).
 */
export async function integerAllReduce(
  ctx: CollectiveContext, memory: CallMemory, space: MemorySpace, steps: IntegerSteps, work: Region, blockSize: number, source?: Region,
): Promise<void> {
  await integerSum(ctx, space, steps, work, blockSize, source);
  await memory.finalize(work, 0, work.length);
}

/**
 * The sum of every rank's float32 `source` (default: `work`, in place) into `work`, before any
 * finalizing (avg's division). The input is only read (exponents, quantizing), so an
 * out-of-place call needs no copy of it into `work` first.
 */
export async function integerSum(
  ctx: CollectiveContext, space: MemorySpace, steps: IntegerSteps, work: Region, blockSize: number, source: Region = work,
): Promise<void> {
  const count = work.length;
  const { size } = ctx;
  const blocks = Math.ceil(count / blockSize);
  const exponents = space.scratch('int32', blocks);
  try {
    traceMark('run');
    if (count > 0) await space.switchml.exponents(source, count, blockSize, exponents.region);
    traceMark('exponents');
    const maxMemory = space.bind('int32', 'max', size);
    await steps.agree({ ...ctx, link: offsetLink(ctx.link, EXPONENT_TAGS), memory: maxMemory }, exponents.region);
    traceMark('agreed');
    const quantized = steps.quantized?.(ctx);
    const floatMemory = quantized && space.bind('float32', 'sum', size);
    const values = floatMemory && hostWords(floatMemory, source, count, Float32Array);
    const out = floatMemory && hostWords(floatMemory, work, count, Float32Array);
    const agreed = quantized && hostWords(maxMemory, exponents.region, blocks, Int32Array);
    if (quantized && values && out && agreed) {
      if (count > 0) await quantized(values, agreed, blockSize, size, out);
      return;
    }
    const sums = space.scratch('int32', count);
    try {
      if (count > 0) await space.switchml.quantize(source, exponents.region, count, blockSize, size, sums.region);
      await steps.sum({ ...ctx, memory: space.bind('int32', 'sum', size) }, sums.region);
      if (count > 0) await space.switchml.dequantize(sums.region, exponents.region, count, blockSize, size, work);
    } finally {
      sums.release();
    }
  } finally {
    exponents.release();
  }
}

/** A region's elements as host words in place (Memory.inPlace), or undefined (GPU memory, or bytes not 4-byte aligned). */
function hostWords<T extends Float32Array | Int32Array>(memory: Memory, region: Region, count: number, Words: new (buffer: ArrayBufferLike, byteOffset: number, length: number) => T): T | undefined {
  const bytes = memory.inPlace?.(region, 0, count);
  return bytes === undefined || bytes.byteOffset % 4 !== 0 ? undefined : new Words(bytes.buffer, bytes.byteOffset, count);
}
