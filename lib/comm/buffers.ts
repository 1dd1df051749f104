// The buffers a call may be given, told apart and checked once, before anything is sent:
// a TypedArray matching the dtype (16-bit floats as Uint16Array bits; use subarray for an
// offset), a GPUBuffer, or a GPUBuffer with a byte offset ({ buffer, byteOffset }).
import { elementBytes, type DataType, type ElementArray } from '../dtype.js';
import { invalidArgument } from '../errors.js';

export interface GpuBufferRange {
  readonly buffer: GPUBuffer;
  /** Where element 0 lies in the buffer; a multiple of 4. Default 0. */
  readonly byteOffset?: number;
}

export type CommBuffer = ElementArray | GPUBuffer | GpuBufferRange;

/** A checked buffer: host bytes, or a GPU buffer and the offset of element 0. */
export type Located =
  | { readonly kind: 'cpu'; readonly bytes: Uint8Array }
  | { readonly kind: 'gpu'; readonly buffer: GPUBuffer; readonly byteOffset: number };

const ARRAY_FOR: Record<DataType, string> = {
  float32: 'Float32Array', float16: 'Uint16Array', bfloat16: 'Uint16Array', int32: 'Int32Array', uint32: 'Uint32Array',
};

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
    return { kind: 'cpu', bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) };
  }
  if (isGpuBuffer(buffer)) return { kind: 'gpu', buffer, byteOffset: 0 };
  if (typeof buffer === 'object' && buffer !== null && isGpuBuffer((buffer as GpuBufferRange).buffer)) {
    const { buffer: gpu, byteOffset = 0 } = buffer as GpuBufferRange;
    if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset % 4 !== 0) {
      throw invalidArgument(`${what}: byte offset ${byteOffset} is not a non-negative multiple of 4`);
    }
    return { kind: 'gpu', buffer: gpu, byteOffset };
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
