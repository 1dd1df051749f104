// Folding a handful of elements: the installed reducer's fixed cost per call (an N-API call for
// the native SIMD loops, a reduction plan for the TypeScript oracle; 1.3-2.3 µs each, measured
// on 2 floats) is a hundred times the work, and small allreduces fold once per call and peer.
// For the 32-bit dtypes the oracle's own lane loops (lanes.ts) run straight on views of the two
// arrays: the same operations in the same order, so the same bits (test/cpu-small-fold.test.ts).
import type { DataType, SimpleOp } from '../dtype.js';
import { addInto, maxInto, minInto, multiplyFloatInto, multiplyIntInto, type Lanes } from './lanes.js';

/** Up to this many elements a plain loop beats any reducer's call overhead. */
export const SMALL_FOLD_ELEMENTS = 256;

function lanes(dtype: DataType, bytes: Uint8Array, count: number): Lanes | undefined {
  switch (dtype) {
    case 'float32': return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    case 'int32': return new Int32Array(bytes.buffer, bytes.byteOffset, count);
    case 'uint32': return new Uint32Array(bytes.buffer, bytes.byteOffset, count);
    default: return undefined;
  }
}

/**
 * dst[i] = dst[i] ⊕ src[i] over `count` elements (avg accumulates as sum) when the call is small,
 * of a 32-bit dtype and both arrays are 4-byte aligned; returns false (nothing done) otherwise.
 */
export function foldSmall(dtype: DataType, op: SimpleOp, dst: Uint8Array, src: Uint8Array, count: number): boolean {
  if (count > SMALL_FOLD_ELEMENTS || dst.byteOffset % 4 !== 0 || src.byteOffset % 4 !== 0) return false;
  const acc = lanes(dtype, dst, count);
  if (acc === undefined) return false;
  const x = lanes(dtype, src, count)!;
  switch (op) {
    case 'sum':
    case 'avg': addInto(acc, x); return true;
    case 'prod':
      if (acc instanceof Float32Array) multiplyFloatInto(acc, x as Float32Array);
      else multiplyIntInto(acc, x as Int32Array | Uint32Array);
      return true;
    case 'min': minInto(acc, x); return true;
    case 'max': maxInto(acc, x); return true;
  }
}
