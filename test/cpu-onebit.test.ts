// 1-bit sign compression with error feedback on the CPU: hand-computed blocks, the documented
// summation order, the sign of zero, poisoned blocks, and the error-feedback property.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { onebitCompress, onebitDecompress } from '../lib/cpu/onebit.js';
import { seededWords } from './helpers/codec-inputs.js';

test('one block by hand: mean |v| scale, signs, residual, decompress', () => {
  const x = new Float32Array(32);
  x.set([1, -3, 0, -0]);
  const residual = new Float32Array(32);
  const { signs, scales } = onebitCompress(x, residual, 32, 32);
  assert.is(scales[0], 0.125); // (1 + 3) * fl(1/32)
  assert.is(signs[0], 0b10); // only -3 is negative; +0 and -0 send +scale
  assert.equal(Array.from(residual.subarray(0, 4)), [0.875, -2.875, -0.125, -0.125]);
  const y = onebitDecompress(signs, scales, 32, 32);
  assert.equal(Array.from(y.subarray(0, 3)), [0.125, -0.125, 0.125]);
  // The next step adds the residual back in.
  const next = onebitCompress(new Float32Array(32), residual, 32, 32);
  assert.is(next.scales[0], Math.fround((0.875 + 2.875 + 0.125 * 30) / 32));
});

test('the sum follows the documented order: 64 strided lanes, then a halving tree', () => {
  // Lane 0 holds 2^24 and 1 (2^24 + 1 rounds to 2^24), lane 1 holds 1 + 1 = 2: the tree gives
  // 2^24 + 2. Adding left to right would lose all three ones (2^24 + 1 -> 2^24 each time).
  const x = new Float32Array(128);
  x[0] = 2 ** 24;
  x[64] = 1;
  x[1] = 1;
  x[65] = 1;
  const { scales } = onebitCompress(x, new Float32Array(128), 128, 128);
  assert.is(scales[0], (2 ** 24 + 2) / 128);
});

test('ragged last block uses its own length; last sign word padded with zeros', () => {
  const x = new Float32Array(40).fill(-2);
  x.fill(4, 32);
  x[39] = -4;
  const residual = new Float32Array(40);
  const { signs, scales } = onebitCompress(x, residual, 40, 32);
  assert.equal(Array.from(scales), [2, 4]);
  assert.equal(Array.from(signs), [0xffffffff, 0x80]);
  assert.equal(Array.from(residual), new Array(40).fill(0));
});

test('subnormals flush to +0 in v, scale and residual', () => {
  const x = new Float32Array(32).fill(2 ** -140);
  x[0] = -(2 ** -149);
  const residual = new Float32Array(32).fill(2 ** -130);
  const { signs, scales } = onebitCompress(x, residual, 32, 32);
  assert.is(scales[0], 0);
  assert.is(signs[0], 0);
  assert.ok(residual.every((r) => Object.is(r, 0)));
});

test('NaN or Inf poisons its block: scale NaN, signs 0, residual reset to 0; other blocks normal', () => {
  const x = new Float32Array(64).fill(-1);
  x[5] = NaN;
  const residual = new Float32Array(64).fill(0.5);
  residual[40] = Infinity;
  const { signs, scales } = onebitCompress(x, residual, 64, 32);
  assert.ok(Number.isNaN(scales[0]) && Number.isNaN(scales[1]));
  assert.equal(Array.from(signs), [0, 0]);
  assert.ok(residual.every((r) => Object.is(r, 0)));
  assert.ok(onebitDecompress(signs, scales, 64, 32).every(Number.isNaN));
  const healthy = new Float32Array(64).fill(-1);
  const fine = onebitCompress(healthy, residual.fill(0.5, 32).fill(0, 0, 32), 64, 32);
  assert.equal(Array.from(fine.scales), [1, 0.5]);
});

test('error feedback: Σ sent tracks Σ x, the difference is the residual, which stays bounded', () => {
  const count = 1000;
  const blockSize = 64;
  const steps = 300;
  const residual = new Float32Array(count);
  const sumX = new Float64Array(count);
  const sumSent = new Float64Array(count);
  const slack = new Float64Array(count); // Σ over steps of the f32 rounding in v and residual
  let maxInputNorm = 0;
  for (let t = 0; t < steps; t++) {
    // A gradient-like stream: values in [-1, 1] times a per-block magnitude in [2^-8, 2^3].
    const words = seededWords(count, t);
    const x = Float32Array.from(words, (w, i) => (((w % 2001) - 1000) / 1000) * 2 ** (((i >> 6) % 12) - 8));
    for (let b = 0; b * blockSize < count; b++) {
      maxInputNorm = Math.max(maxInputNorm, Math.hypot(...x.subarray(b * blockSize, (b + 1) * blockSize)));
    }
    const before = Float64Array.from(residual);
    const { signs, scales } = onebitCompress(x, residual, count, blockSize);
    const sent = onebitDecompress(signs, scales, count, blockSize);
    for (let i = 0; i < count; i++) {
      sumX[i] = sumX[i]! + x[i]!;
      sumSent[i] = sumSent[i]! + sent[i]!;
      slack[i] = slack[i]! + (Math.abs(x[i]!) + Math.abs(before[i]!) + Math.abs(residual[i]!) + Math.abs(sent[i]!)) * 2 ** -24;
    }
  }
  for (let i = 0; i < count; i++) {
    const drift = Math.abs(sumX[i]! - sumSent[i]! - residual[i]!);
    assert.ok(drift <= slack[i]! + 1e-30, `element ${i}: Σx - Σsent - residual = ${drift} > ${slack[i]}`);
  }
  // ||r|| <= ρ/(1-ρ) max ||x|| per block, ρ = sqrt(1 - 1/len) (the compressor's contraction).
  for (let b = 0; b * blockSize < count; b++) {
    const block = residual.subarray(b * blockSize, (b + 1) * blockSize);
    const rho = Math.sqrt(1 - 1 / block.length);
    const norm = Math.hypot(...block);
    assert.ok(norm <= (rho / (1 - rho)) * maxInputNorm * (1 + 1e-5), `block ${b}: ||r|| = ${norm}`);
  }
});

test('empty input and bad arguments', () => {
  const empty = onebitCompress(new Float32Array(0), new Float32Array(0), 0, 32);
  assert.is(empty.signs.length, 0);
  assert.throws(() => onebitCompress(new Float32Array(64), new Float32Array(64), 64, 48), /onebit compress: block size 48 is not a multiple of 32/);
  assert.throws(() => onebitCompress(new Float32Array(64), new Float32Array(63), 64, 32), /onebit compress: residual: needs 64 elements but holds 63/);
  assert.throws(() => onebitDecompress(new Uint32Array(1), new Float32Array(2), 64, 32), /onebit decompress: signs: needs 2 elements/);
});

test.run();
