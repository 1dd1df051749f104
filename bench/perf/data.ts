// Test data for -c 1: every rank fills its input from (rank, element index) alone, so any rank
// can rebuild any other rank's input and compute the expected output locally, as nccl-tests does.
// Values are small multiples of 1/4 (floats) or small integers, so that sums are exact in every
// dtype and a wrong element shows up as a wrong value, not as rounding.
import { elementBytes, isFloat, type DataType, type ElementArray } from '../../lib/dtype.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../lib/cpu/half.js';

/** The value rank `rank` holds at element `index` of its input (before encoding to the dtype). */
export function inputValue(dtype: DataType, rank: number, index: number): number {
  // 17 is prime and coprime to 7 and 13: neighbouring elements and neighbouring ranks differ.
  const residue = (index * 7 + rank * 13) % 17;
  if (dtype === 'uint32') return residue;
  if (dtype === 'int32') return residue - 8;
  return (residue - 8) / 4;
}

/** `count` elements of `dtype`: new, or the first of `buffer` (which holds at least them) where given. */
export function allocateElements(dtype: DataType, count: number, buffer?: ArrayBuffer): ElementArray {
  const Kind = ARRAYS[dtype];
  return buffer === undefined ? new Kind(count) : new Kind(buffer, 0, count);
}

const ARRAYS: Record<DataType, typeof Float32Array | typeof Int32Array | typeof Uint32Array | typeof Uint16Array> = {
  float32: Float32Array, int32: Int32Array, uint32: Uint32Array, float16: Uint16Array, bfloat16: Uint16Array,
};

/** Writes `value` into element `index`, encoding 16-bit floats to their bits. */
export function setElement(dtype: DataType, array: ElementArray, index: number, value: number): void {
  if (dtype === 'float16') array[index] = f32ToF16Bits(value);
  else if (dtype === 'bfloat16') array[index] = f32ToBf16Bits(value);
  else array[index] = value;
}

/** Element `index` as a number (16-bit floats decoded). */
export function getElement(dtype: DataType, array: ElementArray, index: number): number {
  const raw = array[index]!;
  if (dtype === 'float16') return f16BitsToF32(raw);
  if (dtype === 'bfloat16') return bf16BitsToF32(raw);
  return raw;
}

/** Rank `rank`'s input of `count` elements; `firstIndex` numbers them within a larger logical buffer. */
export function rankInput(dtype: DataType, rank: number, count: number, firstIndex = 0): ElementArray {
  const array = allocateElements(dtype, count);
  for (let i = 0; i < count; i++) setElement(dtype, array, i, inputValue(dtype, rank, firstIndex + i));
  return array;
}

/** Fills a receive buffer with a value no input produces, so that untouched elements count as wrong. */
export function poison(dtype: DataType, array: ElementArray): void {
  const marker = isFloat(dtype) ? 12345.5 : 0x5eed;
  for (let i = 0; i < array.length; i++) setElement(dtype, array, i, marker);
}

/** Machine epsilon of the dtype's significand: the unit of the comparison tolerance. */
function epsilon(dtype: DataType): number {
  if (dtype === 'float16') return 2 ** -10;
  if (dtype === 'bfloat16') return 2 ** -7;
  return 2 ** -23;
}

/**
 * Relative tolerance for floats: each of the ranks' contributions may be rounded once, in an order
 * that depends on the algorithm (ring vs tree), so the bound grows with the rank count. Integers
 * are compared exactly.
 */
export function tolerance(dtype: DataType, ranks: number): number {
  return isFloat(dtype) ? 2 * epsilon(dtype) * Math.max(2, ranks) : 0;
}

function matches(got: number, expected: number, relative: number): boolean {
  if (got === expected) return true;
  if (Number.isNaN(got) || Number.isNaN(expected)) return Number.isNaN(got) && Number.isNaN(expected);
  return Math.abs(got - expected) <= relative * Math.max(1, Math.abs(expected));
}

/** Counts the elements of `got` that differ from `expected` beyond the dtype's tolerance. */
export function countWrong(dtype: DataType, got: ElementArray, expected: ElementArray, ranks: number): number {
  if (got.length !== expected.length) throw new Error(`internal: comparing ${got.length} elements with ${expected.length}`);
  const relative = tolerance(dtype, ranks);
  let wrong = 0;
  for (let i = 0; i < got.length; i++) {
    if (!matches(getElement(dtype, got, i), getElement(dtype, expected, i), relative)) wrong++;
  }
  return wrong;
}

/**
 * The largest |got - expected| / max(1, |expected|) over the elements (the scale countWrong's
 * tolerance uses; sums near zero are measured against 1); Infinity for a NaN.
 */
export function maxRelativeError(dtype: DataType, got: ElementArray, expected: ElementArray): number {
  if (got.length !== expected.length) throw new Error(`internal: comparing ${got.length} elements with ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const want = getElement(dtype, expected, i);
    const error = Math.abs(getElement(dtype, got, i) - want) / Math.max(1, Math.abs(want));
    worst = Number.isNaN(error) ? Infinity : Math.max(worst, error);
  }
  return worst;
}

export function byteLengthOf(dtype: DataType, count: number): number {
  return count * elementBytes(dtype);
}
