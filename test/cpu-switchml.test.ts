// The SwitchML codec on the CPU: hand-computed cases, the no-overflow guarantee under
// adversarial inputs, the precision bound, and the NaN/Inf policy.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SWITCHML_NONFINITE_EXPONENT, switchmlBlockExponents, switchmlDequantize, switchmlHasNonFinite, switchmlMergeExponents,
  switchmlQuantize, switchmlWorkerBudget,
} from '../lib/cpu/switchml.js';
import { bitsToF32, f32ToBits } from '../lib/cpu/half.js';
import { codecInputs, seededWords } from './helpers/codec-inputs.js';

const INT32_MAX = 2 ** 31 - 1;
const f32 = (...values: number[]) => new Float32Array(values);
const i32 = (...values: number[]) => new Int32Array(values);

test('block exponent: smallest e with |x| < 2^e; zeros and subnormals -125; NaN/Inf 129', () => {
  const x = f32(1, 0.75, -3, 0, 2 ** -149, 2 ** -126, bitsToF32(0x7f7fffff), Infinity, NaN, -0);
  const one = (v: number) => switchmlBlockExponents(f32(v), 1, 1)[0];
  assert.is(one(1), 1);
  assert.is(one(0.75), 0);
  assert.is(one(-3), 2);
  assert.is(one(0), -125);
  assert.is(one(-0), -125);
  assert.is(one(2 ** -149), -125);
  assert.is(one(2 ** -126), -125);
  assert.is(one(bitsToF32(0x7f7fffff)), 128);
  assert.is(one(Infinity), SWITCHML_NONFINITE_EXPONENT);
  assert.is(one(NaN), SWITCHML_NONFINITE_EXPONENT);
  // Blocks of 4 with a ragged last block of 2.
  assert.equal(Array.from(switchmlBlockExponents(x, 10, 4)), [2, 129, 129]);
  assert.equal(Array.from(switchmlBlockExponents(x, 7, 4)), [2, 128]);
  assert.equal(Array.from(switchmlBlockExponents(f32(0, 0, 0), 3, 2)), [-125, -125]);
  assert.equal(switchmlBlockExponents(f32(), 0, 4).length, 0);
});

test('quantize: hand-computed values, ties to even, subnormals, saturation', () => {
  // n = 1: M = 2^31 - 1; 1.0 with emax 1 is (2^31 - 1) / 2 = 1073741823.5 -> 1073741824 (even).
  assert.is(switchmlQuantize(f32(1), i32(1), 1, 1, 1)[0], 1073741824);
  // n = 2: M = 1073741823; -0.75 with emax 0 is -805306367.25 -> -805306367.
  assert.is(switchmlQuantize(f32(-0.75), i32(0), 1, 1, 2)[0], -805306367);
  // The smallest subnormal with emax -125: 2^-24 * (2^31 - 1) = 127.99999994 -> 128.
  assert.is(switchmlQuantize(f32(2 ** -149), i32(-125), 1, 1, 1)[0], 128);
  // Far below the block exponent (2^-40 * M < 1/2): 0.
  assert.is(switchmlQuantize(f32(2 ** -40), i32(0), 1, 1, 1)[0], 0);
  // n = 2^30 gives M = 1: 0.5 is a tie and goes to even 0, 0.75 to 1, -0.25 to 0.
  assert.equal(Array.from(switchmlQuantize(f32(0.5, 0.75, -0.25), i32(0), 3, 3, 2 ** 30)), [0, 1, 0]);
  // n = 2^29 gives M = 3: 0.5 * 3 = 1.5 is a tie and goes to even 2.
  assert.is(switchmlQuantize(f32(0.5), i32(0), 1, 1, 2 ** 29)[0], 2);
  // n = 2047, M = 2^9 * 2049 = 1049088, emax 1: 1 gives M/2; 3 * 2^-9 gives 3073.5 -> 3074; 2^-9 gives 1024.5 -> 1024.
  assert.equal(Array.from(switchmlQuantize(f32(1, 3 * 2 ** -9, 1, 2 ** -9), i32(1, 1), 4, 2, 2047)), [524544, 3074, 524544, 1024]);
  // An element above the agreed exponent (caller broke the contract) saturates at ±M.
  assert.is(switchmlQuantize(f32(-8), i32(1), 1, 1, 3)[0], -switchmlWorkerBudget(3));
  // Zeros quantize to 0 whatever the exponent.
  assert.equal(Array.from(switchmlQuantize(f32(0, -0), i32(-125), 2, 2, 1)), [0, 0]);
});

test('worker budget M = floor((2^31 - 1) / n)', () => {
  assert.is(switchmlWorkerBudget(1), INT32_MAX);
  assert.is(switchmlWorkerBudget(2), 1073741823);
  assert.is(switchmlWorkerBudget(3), 715827882);
  assert.is(switchmlWorkerBudget(INT32_MAX), 1);
});

test('no overflow: n workers at the block maximum, same sign, sum within int32', () => {
  for (const n of [1, 2, 3, 5, 7, 8, 100, 1000, 65537, 2 ** 20 + 3, INT32_MAX]) {
    const budget = switchmlWorkerBudget(n);
    for (const emax of [-125, -3, 0, 1, 64, 128]) {
      // The largest magnitude below 2^emax, its neighbours, and subnormals at the bottom.
      const top = emax <= -125 ? bitsToF32(0x007fffff) : bitsToF32(((emax + 126) << 23) - 1);
      const x = f32(top, -top, bitsToF32(f32ToBits(top) - 1), top / 2, 2 ** -149);
      const q = switchmlQuantize(x, i32(emax), x.length, x.length, n);
      for (const value of q) assert.ok(Math.abs(value) <= budget, `n=${n} emax=${emax}: |q|=${Math.abs(value)} > M=${budget}`);
      assert.ok(n * Math.abs(q[0]!) <= INT32_MAX, `n=${n} emax=${emax}: n * q = ${n * q[0]!}`);
      // Saturated contributions (local exponents above the agreed one) stay within M too.
      const saturated = switchmlQuantize(f32(2 ** 127), i32(emax), 1, 1, n)[0]!;
      assert.ok(Math.abs(saturated) <= budget);
    }
  }
});

test('no overflow: random workers summed in int32 match the exact sum', () => {
  const count = 512;
  const blockSize = 64;
  for (const n of [2, 3, 16, 255]) {
    const xs = Array.from({ length: n }, (_, w) => adversarial(count, blockSize, 100 + w));
    const agreed = switchmlBlockExponents(xs[0]!, count, blockSize);
    for (const x of xs.slice(1)) switchmlMergeExponents(agreed, switchmlBlockExponents(x, count, blockSize));
    const wrapped = new Int32Array(count); // what an int32 switch would hold
    const exact = new Float64Array(count);
    for (const x of xs) {
      const q = switchmlQuantize(x, agreed, count, blockSize, n);
      for (let i = 0; i < count; i++) {
        wrapped[i] = wrapped[i]! + q[i]!;
        exact[i] = exact[i]! + q[i]!;
      }
    }
    for (let i = 0; i < count; i++) assert.is(wrapped[i], exact[i], `n=${n} element ${i}`);
  }
});

test('precision: |q - x f| <= 1/2 exactly, and the dequantized sum within the stated bound', () => {
  const count = 1024;
  const blockSize = 128;
  for (const n of [1, 2, 5, 64]) {
    const budget = switchmlWorkerBudget(n);
    const xs = Array.from({ length: n }, (_, w) => codecInputs(count, 7 + 31 * w + n, { band: 37 }));
    const agreed = switchmlBlockExponents(xs[0]!, count, blockSize);
    for (const x of xs.slice(1)) switchmlMergeExponents(agreed, switchmlBlockExponents(x, count, blockSize));
    const sums = new Int32Array(count);
    const trueSum = new Float64Array(count);
    for (const x of xs) {
      const q = switchmlQuantize(x, agreed, count, blockSize, n);
      for (let i = 0; i < count; i++) {
        const emax = agreed[Math.floor(i / blockSize)]!;
        // |q - x M 2^-emax| <= 1/2, times 2^(150 + emax) (an integer scale), exactly in BigInt.
        const scale = 2n ** BigInt(150 + emax);
        const twice = 2n * (BigInt(q[i]!) * scale - exactTimesBudget(x[i]!, budget));
        assert.ok(abs(twice) <= scale, `n=${n} element ${i}: x=${x[i]} q=${q[i]}`);
        sums[i] = sums[i]! + q[i]!;
        trueSum[i] = trueSum[i]! + x[i]!;
      }
    }
    const y = switchmlDequantize(sums, agreed, count, blockSize, n);
    for (let i = 0; i < count; i++) {
      const step = 2 ** agreed[Math.floor(i / blockSize)]! / budget; // 1/f
      const bound = (n * step) / 2 + 3.0000002 * 2 ** -24 * Math.abs(sums[i]! * step) + 2 ** -126;
      const error = Math.abs(y[i]! - trueSum[i]!);
      assert.ok(error <= bound * (1 + 2 ** -40), `n=${n} element ${i}: error ${error} > bound ${bound}`);
    }
  }
});

test('dequantize: hand-computed values, flush to +0 below 2^-126, Inf from 2^128', () => {
  // n = 1, emax 1: 1073741824 / ((2^31 - 1) / 2) = 1.0000000005 -> 1 in f32.
  assert.is(switchmlDequantize(i32(1073741824), i32(1), 1, 1, 1)[0], 1);
  assert.is(switchmlDequantize(i32(-805306367), i32(0), 1, 1, 2)[0], Math.fround(-805306367 * Math.fround(1 / 1073741823)));
  assert.is(Object.is(switchmlDequantize(i32(0), i32(5), 1, 1, 1)[0], 0), true);
  assert.is(Object.is(switchmlDequantize(i32(1), i32(-125), 1, 1, 1)[0], 0), true); // 2^-156: flushed
  assert.is(switchmlDequantize(i32(INT32_MAX), i32(128), 1, 1, 1)[0], Infinity);
  assert.is(switchmlDequantize(i32(-INT32_MAX), i32(128), 1, 1, 1)[0], -Infinity);
  assert.is(switchmlDequantize(i32(-(2 ** 31)), i32(0), 1, 1, 1)[0], Math.fround(-(2 ** 31) * Math.fround(1 / INT32_MAX)));
});

test('NaN/Inf: the exponent flags the block, every worker sees it, quantize 0s, dequantize NaNs', () => {
  const x = f32(1, NaN, 2, 3, -Infinity, 0.5);
  const local = switchmlBlockExponents(x, 6, 2);
  assert.equal(Array.from(local), [129, 2, 129]);
  const other = i32(3, 4, 5);
  switchmlMergeExponents(other, local);
  assert.equal(Array.from(other), [129, 4, 129]);
  assert.ok(switchmlHasNonFinite(other));
  assert.not.ok(switchmlHasNonFinite(i32(128, -125)));
  const q = switchmlQuantize(x, other, 6, 2, 2);
  assert.equal([q[0], q[1], q[4], q[5]], [0, 0, 0, 0]);
  const y = switchmlDequantize(q, other, 6, 2, 2);
  assert.ok(Number.isNaN(y[0]) && Number.isNaN(y[1]) && Number.isNaN(y[4]) && Number.isNaN(y[5]));
  assert.ok(Number.isFinite(y[2]!));
});

test('bad arguments are named', () => {
  const x = f32(1, 2, 3);
  assert.throws(() => switchmlBlockExponents(x, 3, 0), /switchml exponents: block size 0 is not an integer/);
  assert.throws(() => switchmlBlockExponents(x, 3, 1.5), /block size 1.5/);
  assert.throws(() => switchmlBlockExponents(x, 4, 2), /switchml exponents: x: needs 4 elements but holds 3/);
  assert.throws(() => switchmlBlockExponents(x, -1, 2), /count -1/);
  assert.throws(() => switchmlQuantize(x, i32(0, 0), 3, 2, 0), /workers 0 is not an integer/);
  assert.throws(() => switchmlQuantize(x, i32(0, 0), 3, 2, 2.5), /workers 2.5/);
  assert.throws(() => switchmlQuantize(x, i32(0), 3, 2, 2), /exponents: needs 2 elements but holds 1/);
  assert.throws(() => switchmlDequantize(i32(1, 2), i32(0, 0), 3, 2, 2), /sums: needs 3 elements/);
});

/** Values at and near each block's maximum, signs mostly aligned: the worst case for overflow. */
function adversarial(count: number, blockSize: number, seed: number): Float32Array {
  const words = seededWords(count, seed);
  const x = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const block = Math.floor(i / blockSize);
    const biased = 1 + ((block * 37) % 254);
    const mantissa = words[i]! % 4 === 0 ? 0x7fffff : words[i]! & 0x7fffff;
    x[i] = bitsToF32(((words[i]! % 16 === 0 ? 1 : 0) << 31) | (biased << 23) | mantissa);
  }
  return x;
}

/** x * M * 2^150 exactly: x = m 2^(E-150), with E the biased exponent (1 for subnormals). */
function exactTimesBudget(x: number, budget: number): bigint {
  const bits = f32ToBits(x);
  const biased = (bits >>> 23) & 0xff;
  const m = BigInt((bits & 0x7fffff) | (biased === 0 ? 0 : 0x800000));
  return (bits >>> 31 ? -m : m) * BigInt(budget) * 2n ** BigInt(Math.max(biased, 1));
}

function abs(v: bigint): bigint {
  return v < 0n ? -v : v;
}

test.run();
