// The block int8 codec on the CPU: hand-computed blocks, packing, ragged and flushed blocks,
// the NaN/Inf policy and the precision bound.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { INT8_INVERSE_LEVELS, int8Dequantize, int8Quantize } from '../lib/cpu/int8.js';
import { codecInputs } from './helpers/codec-inputs.js';

const f32 = (...values: number[]) => new Float32Array(values);

test('one block by hand: scale absmax/127, ties to even, 4 bytes per word', () => {
  const { packed, scales } = int8Quantize(f32(1, -0.5, 0.25, 0), 4, 4);
  const scale = Math.fround(1 * INT8_INVERSE_LEVELS);
  assert.is(scales[0], scale);
  // 127, -63.5 -> -64 (even), 31.75 -> 32, 0: bytes 7f c0 20 00, little end first.
  assert.is(packed[0], 0x0020c07f);
  assert.equal(Array.from(int8Dequantize(packed, scales, 4, 4)), [127, -64, 32, 0].map((q) => Math.fround(q * scale)));
});

test('ragged last block and padded last word', () => {
  const x = f32(4, 2, -1, 0.5, -8, 3);
  const { packed, scales } = int8Quantize(x, 6, 4);
  assert.equal(Array.from(scales), [Math.fround(4 * INT8_INVERSE_LEVELS), Math.fround(8 * INT8_INVERSE_LEVELS)]);
  // Block 0: 127, 63.5 -> 64, -31.75 -> -32, 15.875 -> 16. Block 1: -127, 47.625 -> 48; padding 0.
  assert.is(packed[0], 0x10e0407f);
  assert.is(packed[1], 0x00003081);
  const y = int8Dequantize(packed, scales, 6, 4);
  assert.is(y[4], Math.fround(-127 * scales[1]!));
});

test('tiny blocks flush: scale 0, bytes 0, result 0', () => {
  const x = f32(2 ** -119, -(2 ** -130), 0, 2 ** -149, 1, 0, 0, 0);
  const { packed, scales } = int8Quantize(x, 8, 4);
  assert.is(scales[0], 0);
  assert.is(packed[0], 0);
  assert.is(scales[1], Math.fround(INT8_INVERSE_LEVELS));
  assert.equal(Array.from(int8Dequantize(packed, scales, 8, 4).subarray(0, 4)), [0, 0, 0, 0]);
  // Just above the threshold the block quantizes normally (and subnormals in it round to 0).
  const edge = int8Quantize(f32(2 ** -118, 2 ** -149, -(2 ** -118), 0), 4, 4);
  assert.is(edge.packed[0], 0x0081007f);
});

test('NaN or Inf poisons its block only: scale NaN, bytes 0, results NaN', () => {
  const x = f32(1, NaN, 2, 3, -Infinity, 1, 1, 1, 5, 6, 7, 8);
  const { packed, scales } = int8Quantize(x, 12, 4);
  assert.ok(Number.isNaN(scales[0]) && Number.isNaN(scales[1]));
  assert.is(packed[0], 0);
  assert.is(packed[1], 0);
  const y = int8Dequantize(packed, scales, 12, 4);
  assert.ok(Array.from(y.subarray(0, 8)).every(Number.isNaN));
  assert.is(y[11], Math.fround(127 * scales[2]!));
});

test('precision: |y - x| <= a/254 + 3.0000002 * 2^-24 * a, bytes in [-127, 127]', () => {
  const count = 4099;
  for (const blockSize of [4, 64, 256]) {
    const x = codecInputs(count, blockSize, { band: 50 });
    const { packed, scales } = int8Quantize(x, count, blockSize);
    const y = int8Dequantize(packed, scales, count, blockSize);
    const bytes = new Int8Array(packed.buffer);
    for (let i = 0; i < count; i++) assert.ok(bytes[i] !== -128, `element ${i} is -128`);
    for (let b = 0; b * blockSize < count; b++) {
      const block = x.subarray(b * blockSize, Math.min(count, (b + 1) * blockSize));
      const a = Math.max(...Array.from(block, Math.abs));
      const bound = a < 2 ** -118 ? a : a / 254 + 3.0000002 * 2 ** -24 * a;
      for (let j = 0; j < block.length; j++) {
        const error = Math.abs(y[b * blockSize + j]! - block[j]!);
        assert.ok(error <= bound, `block ${b} element ${j}: |${y[b * blockSize + j]} - ${block[j]}| = ${error} > ${bound}`);
      }
    }
  }
});

test('empty input and bad arguments', () => {
  const empty = int8Quantize(f32(), 0, 4);
  assert.is(empty.packed.length, 0);
  assert.is(empty.scales.length, 0);
  assert.throws(() => int8Quantize(f32(1, 2, 3, 4, 5, 6), 6, 6), /int8 quantize: block size 6 is not a multiple of 4/);
  assert.throws(() => int8Quantize(f32(1), 1, 0), /block size 0/);
  assert.throws(() => int8Quantize(f32(1), 2, 4), /int8 quantize: x: needs 2 elements but holds 1/);
  assert.throws(() => int8Dequantize(new Uint32Array(1), new Float32Array(1), 5, 4), /int8 dequantize: packed: needs 2 elements/);
  assert.throws(() => int8Dequantize(new Uint32Array(2), new Float32Array(1), 5, 4), /scales: needs 2 elements/);
});

test.run();
