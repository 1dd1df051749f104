// The buffers a call may be given, told apart and checked once, before anything is sent:
// a TypedArray matching the dtype (16-bit floats as Uint16Array bits; use subarray for an
// offset), a GPUBuffer, or a GPUBuffer with a byte offset ({ buffer, byteOffset }).
//
// Two kinds of bad buffer are told apart. A wrong shape (type, size, usage, offset) is what the
// program asked for: it is rejected here with no effect, like any bad argument. A buffer in a
// bad state (a detached ArrayBuffer; a destroyed GPUBuffer or one of another device, which
// only the GPU can tell: see GpuMemorySpace.verify) is a failure of this rank while its peers
// are already in the call: the communicator reports it to them (see communicator.ts).
import { elementBytes, type DataType, type ElementArray } from '../dtype.js';
import { invalidArgument, invalidUsage, type WebcclError } from '../errors.js';
import { FREED, isFreedHostBuffer } from './host-buffers.js';

export interface GpuBufferRange {
  readonly buffer: GPUBuffer;
  /** Where element 0 lies in the buffer; a multiple of 4. Default 0. */
  readonly byteOffset?: number;
}

export type CommBuffer = ElementArray | GPUBuffer | GpuBufferRange;

/**
 * A checked buffer: host bytes, or a GPU buffer and the offset of element 0; `what` names the
 * argument in errors (e.g. `allReduce on rank 1 of 2 (communicator 0): send buffer`).
 */
export type Located =
  | { readonly kind: 'cpu'; readonly what: string; readonly bytes: Uint8Array }
  | { readonly kind: 'gpu'; readonly what: string; readonly buffer: GPUBuffer; readonly byteOffset: number };

/** Errors about a buffer's state rather than its shape (see the top of this file). */
const stateErrors = new WeakSet<WebcclError>();

/** The buffer cannot be used as it is now: InvalidArgument before the call, InvalidUsage during it. */
export function bufferStateError(what: string, problem: string, during = false): WebcclError {
  const error = during ? invalidUsage(`${what}: ${problem} while the call ran`) : invalidArgument(`${what}: ${problem}`);
  stateErrors.add(error);
  return error;
}

export function isBufferStateError(error: unknown): error is WebcclError {
  return stateErrors.has(error as WebcclError);
}

/** Whether an ArrayBuffer was detached (transferred, e.g. by postMessage or structuredClone). */
export function isDetached(buffer: ArrayBufferLike): boolean {
  const flag = (buffer as { detached?: boolean }).detached;
  if (typeof flag === 'boolean') return flag;
  // Before ArrayBuffer.prototype.detached (Node < 22): only a detached buffer refuses a view.
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

export const DETACHED = 'its ArrayBuffer is detached (it was transferred, e.g. by postMessage or structuredClone)';

/** The TypedArray that holds each dtype in host memory (float16 and bfloat16 as their bits). */
const HOST_ARRAY: Record<DataType, Float32ArrayConstructor | Uint16ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor> = {
  float32: Float32Array, float16: Uint16Array, bfloat16: Uint16Array, int32: Int32Array, uint32: Uint32Array,
};

const ARRAY_FOR = Object.fromEntries(Object.entries(HOST_ARRAY).map(([dtype, array]) => [dtype, array.name])) as Record<DataType, string>;

/** A zeroed host array of `count` elements of `dtype`, of the kind calls take for it. */
export function hostArrayOf(dtype: DataType, count: number): ElementArray {
  return new HOST_ARRAY[dtype](count);
}

function isGpuBuffer(value: unknown): value is GPUBuffer {
  // Duck-typed: Node's Dawn bindings and browsers do not share one GPUBuffer global.
  const candidate = value as GPUBuffer;
  return typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)
    && typeof candidate.size === 'number' && typeof candidate.usage === 'number' && typeof candidate.mapAsync === 'function';
}

function typedArrayName(value: ArrayBufferView): string {
  return (value as { constructor?: { name?: string } }).constructor?.name ?? 'ArrayBufferView';
}

/** Classifies `buffer` for a call on `dtype`; `what` names it in errors (rank, call, argument). */
export function locate(what: string, buffer: unknown, dtype: DataType): Located {
  if (ArrayBuffer.isView(buffer)) {
    const expected = ARRAY_FOR[dtype];
    if (typedArrayName(buffer) !== expected) {
      throw invalidArgument(`${what}: a ${typedArrayName(buffer)} cannot hold ${dtype} (expected a ${expected})`);
    }
    if (isDetached(buffer.buffer)) throw bufferStateError(what, isFreedHostBuffer(buffer.buffer) ? FREED : DETACHED);
    return { kind: 'cpu', what, bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) };
  }
  if (isGpuBuffer(buffer)) return { kind: 'gpu', what, buffer, byteOffset: 0 };
  if (typeof buffer === 'object' && buffer !== null && isGpuBuffer((buffer as GpuBufferRange).buffer)) {
    const { buffer: gpu, byteOffset = 0 } = buffer as GpuBufferRange;
    if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset % 4 !== 0) {
      throw invalidArgument(`${what}: byte offset ${byteOffset} is not a non-negative multiple of 4`);
    }
    return { kind: 'gpu', what, buffer: gpu, byteOffset };
  }
  throw invalidArgument(`${what}: expected a TypedArray, a GPUBuffer or { buffer: GPUBuffer, byteOffset }, got ${describe(buffer)}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as { constructor?: { name?: string } }).constructor?.name ?? 'an object';
  return typeof value;
}

/** Bytes available from element 0 of a located buffer. */
export function capacityBytes(located: Located): number {
  return located.kind === 'cpu' ? located.bytes.byteLength : Math.max(0, located.buffer.size - located.byteOffset);
}

/** Checks that `count` elements from element `first` fit in the buffer. */
export function checkFits(what: string, located: Located, dtype: DataType, first: number, count: number): void {
  const needed = (first + count) * elementBytes(dtype);
  const capacity = capacityBytes(located);
  if (needed > capacity) {
    throw invalidArgument(`${what}: needs ${needed} bytes (${first + count} ${dtype} elements) but holds ${capacity}`);
  }
}

/** Start of element `first` as (storage, byte position) for overlap tests. */
function span(located: Located, dtype: DataType, first: number, count: number): { store: object; start: number; end: number } {
  const bytes = elementBytes(dtype);
  const base = located.kind === 'cpu' ? located.bytes.byteOffset : located.byteOffset;
  const store = located.kind === 'cpu' ? located.bytes.buffer : located.buffer;
  return { store, start: base + first * bytes, end: base + (first + count) * bytes };
}

/** Whether two element ranges share any byte. */
export function overlaps(a: Located, aFirst: number, aCount: number, b: Located, bFirst: number, bCount: number, dtype: DataType): boolean {
  const x = span(a, dtype, aFirst, aCount);
  const y = span(b, dtype, bFirst, bCount);
  return x.store === y.store && x.start < y.end && y.start < x.end;
}

/** Whether element `aFirst` of `a` is element `bFirst` of `b` (NCCL's in-place test). */
export function sameStart(a: Located, aFirst: number, b: Located, bFirst: number, dtype: DataType): boolean {
  const x = span(a, dtype, aFirst, 0);
  const y = span(b, dtype, bFirst, 0);
  return x.store === y.store && x.start === y.start;
}
