// The block int8 kernels on the real device against the CPU codec, bit for bit. Sizes 0, 1,
// odd and ragged, more than 65535 workgroups, regions at unaligned offsets, work split at the
// binding limit, NaN/Inf/subnormal inputs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { int8Dequantize, int8PackedWords, int8Quantize } from '../lib/cpu/int8.js';
import { encodeInt8Quantize, gpuInt8Dequantize, gpuInt8Quantize } from '../lib/gpu/int8.js';
import type { Int8Options } from '../lib/gpu/int8.js';
import { region } from '../lib/gpu/region.js';
import { codecInputs } from './helpers/codec-inputs.js';
import { Placed } from './helpers/codec-gpu.js';
import { ctx, device } from './helpers/gpu.js';
import { rejects } from './helpers/assert.js';

async function roundTrip(
  count: number, blockSize: number, offset: number, options: Int8Options = {},
  input = codecInputs(count, count + blockSize, { band: 23, nonFinite: true }), packedOffset = offset + 4,
): Promise<void> {
  const what = `count ${count}, block ${blockSize}, offset ${offset}, packed at ${packedOffset}`;
  const want = int8Quantize(input, count, blockSize);
  const x = new Placed(offset, input);
  const packed = Placed.empty(packedOffset, int8PackedWords(count) * 4);
  const scales = Placed.empty(offset + 8, want.scales.byteLength);
  await gpuInt8Quantize(ctx, { src: x.region, packed: packed.region, scales: scales.region, count, blockSize }, options);
  await packed.expect(want.packed, `${what}: packed`);
  await scales.expect(want.scales, `${what}: scales`);

  const y = Placed.empty(offset, count * 4);
  await gpuInt8Dequantize(ctx, { packed: packed.region, scales: scales.region, dst: y.region, count, blockSize }, options);
  await y.expect(int8Dequantize(want.packed, want.scales, count, blockSize), `${what}: dequantize`);
  for (const placed of [x, packed, scales, y]) placed.destroy();
}

test('sizes 0, 1, odd and ragged, at offset 0', async () => {
  for (const count of [0, 1, 7, 1001]) await roundTrip(count, 36, 0);
  await roundTrip(4096, 256, 0);
});

test('rounding ties (127 x / a exactly k + 1/2) go to even', async () => {
  // a = 1: x = (k + 0.5) / 127 is not dyadic, so ties need a = 127 * 2^j: x = k + 0.5 for a = 127.
  const values = [127];
  for (let k = 0; k < 127; k++) values.push(k + 0.5, -(k + 0.5), k);
  await roundTrip(values.length, 4 * Math.ceil(values.length / 4), 0, {}, Float32Array.from(values));
});

test('values a few ulps either side of every rounding boundary, at every exponent gap', async () => {
  // x near a (k + 1/2) / 127 for every k: |x| spans a / 254 .. a, so every gap 0..8 between the
  // exponents of a and x, and the bits below the gap decide the rounding of the near-ties.
  const bits = new Int32Array(1);
  const asFloat = new Float32Array(bits.buffer);
  const ulps = (x: number, step: number): number => {
    asFloat[0] = x;
    bits[0] = bits[0]! + step;
    return asFloat[0]!;
  };
  // Also the exponent range's ends: the smallest absmax still quantized (2^-118: x spans the
  // subnormals) and one near the largest float (the estimate's factor 127 / a near 2^-121).
  for (const a of [1, 1.3719, 1.9999999, 381, 0.0078125 * 1.61803, 2 ** -118 * 1.0000001, 2 ** -118 * 1.75, 3.3e38]) {
    const values = [Math.fround(a)];
    for (let k = 0; k < 127; k++) {
      const boundary = Math.fround((a * (k + 0.5)) / 127);
      for (let step = -3; step <= 3; step++) values.push(ulps(boundary, step), -ulps(boundary, step));
    }
    while (values.length % 4 !== 0) values.push(0);
    await roundTrip(values.length, values.length, 0, {}, Float32Array.from(values));
  }
});

test('regions at offsets that are not binding-aligned; workgroups smaller than blocks', async () => {
  await roundTrip(1001, 64, 4, { workgroupSize: 16 });
  await roundTrip(515, 4, 260);
});

test('every residue of the 4 elements a thread takes', async () => {
  for (let count = 1; count <= 9; count++) await roundTrip(count, 4, 4 * (count % 4));
});

test('dequantize as vec4 quads and as scalar quads, in both unit layouts', async () => {
  for (const unitLayout of ['coalesced', 'consecutive'] as const) {
    for (const offset of [0, 4, 8, 12, 16, 256]) {
      await roundTrip(4 * 64 * 9, 64, offset, { unitLayout, workgroupSize: 4 }); // whole quads: vec4 where dst is aligned
      await roundTrip(4 * 64 * 9 - 3, 64, offset, { unitLayout, workgroupSize: 4 }); // a ragged last quad: scalar
    }
  }
});

test('dequantize four packed words per thread (consecutive layout, packed and dst on a vec4 boundary) and not', async () => {
  const unitLayout = 'consecutive';
  for (const [offset, packedOffset] of [[0, 0], [16, 272], [0, 4], [4, 0]] as const) {
    // Block 36: a unit of 16 elements often spans two blocks; 64: never; a ragged tail; pieces.
    for (const count of [16 * 45, 16 * 45 - 4, 16 * 45 - 3]) {
      for (const blockSize of [36, 64]) await roundTrip(count, blockSize, offset, { unitLayout, workgroupSize: 4 }, undefined, packedOffset);
    }
    await roundTrip(16 * 100, 16, offset, { unitLayout, maxBindingBytes: 1024 }, undefined, packedOffset);
  }
});

test('quantize in both block layouts, src read as vec4 quads and as words', async () => {
  for (const quantizeLayout of ['workgroup-per-block', 'thread-per-block'] as const) {
    for (const offset of [0, 4, 8, 16]) {
      for (const count of [1, 3, 4 * 64 * 5, 4 * 64 * 5 - 3]) await roundTrip(count, 64, offset, { quantizeLayout, workgroupSize: 8 });
    }
  }
});

test('more than 65535 workgroups (2-D grid), per element and per block', async () => {
  // One-thread workgroups: a thread takes 4 elements, a workgroup one block of 4.
  await roundTrip((ctx.maxWorkgroupsPerDimension + 1) * 4 + 3, 4, 4, { workgroupSize: 1 });
});

test('work split into pieces at the binding limit', async () => {
  await roundTrip(5000, 64, 20, { maxBindingBytes: 2048 });
});

test('bad arguments are rejected before anything is recorded', async () => {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const a = device.createBuffer({ size: 1024, usage });
  const b = device.createBuffer({ size: 1024, usage });
  const c = device.createBuffer({ size: 64, usage });
  const base = { src: region(a), packed: region(b), scales: region(c), count: 64, blockSize: 8 };
  const encoder = device.createCommandEncoder();
  assert.throws(() => encodeInt8Quantize(ctx, encoder, { ...base, packed: region(b, 6) }), /int8 quantize: packed: byte offset 6/);
  assert.throws(() => encodeInt8Quantize(ctx, encoder, { ...base, count: 80, blockSize: 4 }), /int8 quantize: scales: needs 80 bytes at offset 0 but the buffer holds 64/);
  assert.throws(() => encodeInt8Quantize(ctx, encoder, { ...base, blockSize: 2 }), /block size 2 is not a multiple of 4/);
  assert.throws(() => encodeInt8Quantize(ctx, encoder, { ...base, scales: region(b, 512) }), /packed and scales are in the same buffer/);
  encoder.finish();
  await rejects(gpuInt8Dequantize(ctx, { packed: region(b), scales: region(c), dst: region(a), count: 300, blockSize: 4 }), /InvalidArgument: int8 dequantize: scales: needs 300 bytes/);
  for (const buffer of [a, b, c]) buffer.destroy();
});

test.run();
