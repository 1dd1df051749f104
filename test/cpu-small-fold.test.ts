// The small-call fold (lib/cpu/small-fold.ts) must give the oracle's bits for every op and
// 32-bit dtype, NaN, signed zeros and integer wrap-around included, and must decline what it
// does not handle (other dtypes, unaligned views, large counts) so the reducer runs instead.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SIMPLE_OPS, type DataType } from '../lib/dtype.js';
import { reduceAccumulate } from '../lib/cpu/reduce.js';
import { foldSmall, SMALL_FOLD_ELEMENTS } from '../lib/cpu/small-fold.js';
import { firstDifference, nanCases } from './helpers/nan-rule.js';

const FLOATS = [0, -0, 1.5, -2.25, NaN, Infinity, -Infinity, 3.4e38, 1e-45, 7, -7, 0.1];
const INTS = [0, 1, -1, 0x7fffffff, -0x80000000, 65536, 12345, -99, 3, 0x40000000, 2, -2];

function arrays(dtype: DataType, shift: number): Uint8Array {
  const n = FLOATS.length;
  const values = Array.from({ length: n }, (_, i) => (dtype === 'float32' ? FLOATS : INTS)[(i * 5 + shift) % n]!);
  const typed = dtype === 'float32' ? Float32Array.from(values) : dtype === 'int32' ? Int32Array.from(values) : Uint32Array.from(values.map((v) => v >>> 0));
  return new Uint8Array(typed.buffer);
}

test('foldSmall gives the oracle bits for every op on float32, int32 and uint32', () => {
  for (const dtype of ['float32', 'int32', 'uint32'] as const) {
    for (const op of SIMPLE_OPS) {
      for (let shift = 0; shift < 4; shift++) {
        const expected = arrays(dtype, 0);
        const got = arrays(dtype, 0);
        const src = arrays(dtype, shift + 1);
        reduceAccumulate(expected, [src], FLOATS.length, dtype, op);
        assert.ok(foldSmall(dtype, op, got, src, FLOATS.length), `${dtype} ${op} handled`);
        assert.equal([...got], [...expected], `${dtype} ${op} shift ${shift}`);
      }
    }
  }
});

test('foldSmall follows the NaN rule: NaNs of different payloads meeting each other give the first, quieted', () => {
  const cases = nanCases('float32', 2);
  for (const op of SIMPLE_OPS) {
    const got = cases.inputs[0]!.slice();
    assert.ok(foldSmall('float32', op, got, cases.inputs[1]!, cases.count), `${op} handled`);
    assert.is(firstDifference('float32', got, cases.rule, cases), '', op);
  }
});

test('foldSmall declines 16-bit dtypes, unaligned views and large counts', () => {
  const bytes = new Uint8Array(4 * (SMALL_FOLD_ELEMENTS + 2));
  assert.not.ok(foldSmall('float16', 'sum', bytes.subarray(0, 4), bytes.subarray(4, 8), 2));
  assert.not.ok(foldSmall('float32', 'sum', bytes.subarray(2, 10), bytes.subarray(12, 20), 2));
  assert.not.ok(foldSmall('float32', 'sum', bytes.subarray(0, 8), bytes.subarray(14, 22), 2));
  const large = SMALL_FOLD_ELEMENTS + 1;
  assert.not.ok(foldSmall('float32', 'sum', bytes.subarray(0, 4 * large), bytes.subarray(0, 4 * large), large));
});

test.run();
