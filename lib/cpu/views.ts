// Element views over caller memory. The CPU kernels accept any ArrayBufferView (a TypedArray,
// a DataView, or the Uint8Array a transport received) and read it in place when its byte
// offset is aligned to the element size. A misaligned view is copied to aligned memory for
// reading, and written back byte-wise after computing (correct, just slower).
import { elementBytes, type DataType, type ElementArray } from '../dtype.js';
import { invalidArgument } from '../errors.js';

export function checkViewLength(what: string, view: ArrayBufferView, byteLength: number): void {
  if (!ArrayBuffer.isView(view)) throw invalidArgument(`${what}: expected an ArrayBufferView (TypedArray, DataView or Buffer)`);
  if (view.byteLength < byteLength) throw invalidArgument(`${what}: needs ${byteLength} bytes but the view holds ${view.byteLength}`);
}

/** The TypedArray holding `dtype`'s elements (16-bit floats as raw bits). */
export function elementArrayOf(dtype: DataType, buffer: ArrayBufferLike, byteOffset: number, length: number): ElementArray {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer, byteOffset, length);
    case 'int32': return new Int32Array(buffer, byteOffset, length);
    case 'uint32': return new Uint32Array(buffer, byteOffset, length);
    case 'float16':
    case 'bfloat16': return new Uint16Array(buffer, byteOffset, length);
  }
}

/** `count` elements of `view`: the same memory when aligned, else an aligned copy. */
export function readElements(dtype: DataType, view: ArrayBufferView, count: number): ElementArray {
  const bytes = elementBytes(dtype);
  if (view.byteOffset % bytes === 0) return elementArrayOf(dtype, view.buffer, view.byteOffset, count);
  const copy = new Uint8Array(count * bytes);
  copy.set(new Uint8Array(view.buffer, view.byteOffset, count * bytes));
  return elementArrayOf(dtype, copy.buffer, 0, count);
}

/** Copies computed elements back to `view` when readElements had to copy (no-op otherwise). */
export function writeBackElements(view: ArrayBufferView, elements: ElementArray): void {
  if (elements.buffer === view.buffer && elements.byteOffset === view.byteOffset) return;
  new Uint8Array(view.buffer, view.byteOffset, elements.byteLength).set(new Uint8Array(elements.buffer, elements.byteOffset, elements.byteLength));
}
