// The SwitchML kernels on the real device against the CPU codec, bit for bit: block exponents,
// quantize with agreed exponents, dequantize of a 3-worker sum. Sizes 0, 1, odd, ragged, more
// than 65535 workgroups, regions at unaligned offsets, work split at the binding limit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  switchmlBlockExponents, switchmlDequantize, switchmlMergeExponents, switchmlQuantize, switchmlWorkerBudget,
} from '../lib/cpu/switchml.js';
import {
  encodeSwitchmlQuantize, gpuSwitchmlBlockExponents, gpuSwitchmlDequantize, gpuSwitchmlQuantize,
} from '../lib/gpu/switchml.js';
import type { SwitchmlOptions } from '../lib/gpu/switchml.js';
import { region } from '../lib/gpu/region.js';
import { codecInputs } from './helpers/codec-inputs.js';
import { Placed } from './helpers/codec-gpu.js';
import { ctx, device } from './helpers/gpu.js';
import { rejects } from './helpers/assert.js';

const WORKERS = 3;

/** `sumsAt`/`yAt`: dequantize's src and dst, bytes after `offset` (the defaults put them out of vec4 step). */
async function roundTrip(count: number, blockSize: number, offset: number, options: SwitchmlOptions = {}, sumsAt = 12, yAt = 4): Promise<void> {
  const what = `count ${count}, block ${blockSize}, offset ${offset}`;
  const blocks = Math.ceil(count / blockSize);
  const xs = Array.from({ length: WORKERS }, (_, w) => codecInputs(count, count + 17 * w, { band: 29, nonFinite: w === 0 }));
  const x = new Placed(offset, xs[0]!);
  const exponents = Placed.empty(offset + 4, blocks * 4);
  await gpuSwitchmlBlockExponents(ctx, { src: x.region, exponents: exponents.region, count, blockSize }, options);
  const local = switchmlBlockExponents(xs[0]!, count, blockSize);
  await exponents.expect(local, `${what}: exponents`);

  const agreed = local.slice();
  for (const other of xs.slice(1)) switchmlMergeExponents(agreed, switchmlBlockExponents(other, count, blockSize));
  const agreedOnGpu = new Placed(offset + 8, agreed);
  const q = Placed.empty(offset, count * 4);
  await gpuSwitchmlQuantize(ctx, { src: x.region, exponents: agreedOnGpu.region, dst: q.region, count, blockSize, workers: WORKERS }, options);
  await q.expect(switchmlQuantize(xs[0]!, agreed, count, blockSize, WORKERS), `${what}: quantize`);

  const sums = new Int32Array(count);
  for (const other of xs) {
    const contribution = switchmlQuantize(other, agreed, count, blockSize, WORKERS);
    for (let i = 0; i < count; i++) sums[i] = sums[i]! + contribution[i]!;
  }
  const sumsOnGpu = new Placed(offset + sumsAt, sums);
  const y = Placed.empty(offset + yAt, count * 4);
  await gpuSwitchmlDequantize(ctx, { src: sumsOnGpu.region, exponents: agreedOnGpu.region, dst: y.region, count, blockSize, workers: WORKERS }, options);
  await y.expect(switchmlDequantize(sums, agreed, count, blockSize, WORKERS), `${what}: dequantize`);
  for (const placed of [x, exponents, agreedOnGpu, q, sumsOnGpu, y]) placed.destroy();
}

test('sizes 0, 1, odd and ragged, at offset 0', async () => {
  for (const count of [0, 1, 7, 1001]) await roundTrip(count, 37, 0);
  await roundTrip(4096, 256, 0);
});

test('regions at offsets that are not binding-aligned', async () => {
  await roundTrip(1001, 64, 4);
  await roundTrip(513, 1, 260);
});

test('every residue of the 4 elements a thread takes', async () => {
  for (let count = 1; count <= 9; count++) await roundTrip(count, 4, 4 * (count % 4));
});

test('more than 65535 workgroups (2-D grid), per element and per block', async () => {
  // One-thread workgroups: a thread takes 4 elements, a workgroup one block of 4.
  const count = (ctx.maxWorkgroupsPerDimension + 1) * 4 + 3;
  await roundTrip(count, 4, 4, { workgroupSize: 1 });
});

test('quantize and dequantize in quads (vec4) and per element, in both unit layouts', async () => {
  // Workgroups of 4 threads: many tiles, ragged last ones. Quads where src and dst are in vec4
  // step, blocks hold whole quads and the piece whole quads; per element otherwise.
  for (const unitLayout of ['coalesced', 'consecutive'] as const) {
    const options = { unitLayout, workgroupSize: 4 };
    for (const offset of [0, 16, 272]) {
      await roundTrip(4 * 16 * 11, 64, offset, options, 0, 16); // quads both ways
      await roundTrip(4 * 16 * 11 - 4, 12, offset, options, 32, 0); // quads, blocks of 3 quads, ragged last block
      await roundTrip(4 * 16 * 11 - 3, 64, offset, options, 0, 16); // a ragged last quad: per element
      await roundTrip(4 * 16 * 11, 6, offset, options, 0, 16); // quads would straddle blocks: per element
      await roundTrip(4 * 16 * 11, 64, offset + 4, options, 4, 8); // out of vec4 step: per element
    }
  }
  await roundTrip(4 * 16 * 40, 64, 16, { maxBindingBytes: 1024 }, 0, 16); // quads in several pieces
});

test('quads in the consecutive layout: one exponent a thread where its 4 quads share a block, one a quad where they straddle', async () => {
  // A thread takes 4 neighbouring quads (16 elements). Blocks of 16 and 64: every thread within
  // one block; of 4 (each quad its own block), 20 and 36 (most threads straddle a boundary); and
  // ragged last threads (fewer than 4 quads). The inputs' exponents differ from block to block.
  const options = { unitLayout: 'consecutive', workgroupSize: 4 } as const;
  for (const blockSize of [16, 64, 4, 20, 36]) {
    await roundTrip(16 * 23, blockSize, 0, options, 0, 16);
    await roundTrip(16 * 23 + 8, blockSize, 16, options, 32, 0);
  }
});

test('block exponents in both layouts (per workgroup with an atomic, per thread in quads), whole and ragged quads', async () => {
  for (const exponentsLayout of ['workgroup-per-block', 'thread-per-block'] as const) {
    for (const offset of [0, 4, 16]) {
      await roundTrip(1024, 64, offset, { exponentsLayout }); // whole quads (vec4 where aligned)
      await roundTrip(1001, 64, offset, { exponentsLayout }); // a ragged last quad
      await roundTrip(1000, 37, offset, { exponentsLayout }); // quads straddling blocks
      await roundTrip(999, 1, offset, { exponentsLayout, workgroupSize: 8 });
    }
    await roundTrip(5000, 64, 20, { exponentsLayout, maxBindingBytes: 2048 });
    await roundTrip((ctx.maxWorkgroupsPerDimension + 1) * 4 + 3, 4, 4, { exponentsLayout, workgroupSize: 1 });
  }
});

test('work split into pieces at the binding limit', async () => {
  await roundTrip(5000, 64, 20, { maxBindingBytes: 2048 });
});

test('rounding ties, powers of two and budgets from 1 to 2^31 - 1', async () => {
  // Powers of two and odd multiples of halves: exact ties for small budgets M and at the block top.
  const values = [];
  for (let e = -149; e <= 127; e++) values.push(2 ** e, -(2 ** e) * 1.5, 2 ** e * 2.5);
  const powers = Float32Array.from(values);
  const cases = [1, 2, 3, 2 ** 29, 2 ** 30, 2 ** 31 - 1].flatMap((workers) => [
    { x: powers, blockSize: 1, workers }, { x: powers, blockSize: 3, workers },
  ]);
  // n = 2047 gives M = 2^9 * 2049: j * 2^-10 * M (j odd) is a tie 8 bits below the block top,
  // rounding up for j = 3, 7, ... (odd kept part) and down for j = 1, 5, ...
  const below = Float32Array.from([1, 3, 1, -7, 1, 5, 1, 1].map((v, i) => (i % 2 ? v * 2 ** -9 : v)));
  cases.push({ x: below, blockSize: 2, workers: 2047 });
  // The largest significands 30..34 binades under the block top with the largest budget: the
  // shifts around 31, where the rounded part stops existing (and must give 0, not a rounding).
  const deep = Float32Array.from([1, ...[30, 31, 32, 33, 34].map((k) => -(2 - 2 ** -23) * 2 ** -k)]);
  cases.push({ x: deep, blockSize: deep.length, workers: 1 });
  for (const { x, blockSize, workers } of cases) {
    const count = x.length;
    const exponents = switchmlBlockExponents(x, count, blockSize);
    const src = new Placed(0, x);
    const agreed = new Placed(4, exponents);
    const q = Placed.empty(8, count * 4);
    await gpuSwitchmlQuantize(ctx, { src: src.region, exponents: agreed.region, dst: q.region, count, blockSize, workers });
    const want = switchmlQuantize(x, exponents, count, blockSize, workers);
    await q.expect(want, `workers ${workers}, block ${blockSize}: quantize`);
    const y = Placed.empty(0, count * 4);
    await gpuSwitchmlDequantize(ctx, { src: q.region, exponents: agreed.region, dst: y.region, count, blockSize, workers });
    await y.expect(switchmlDequantize(want, exponents, count, blockSize, workers), `workers ${workers}, block ${blockSize}: dequantize`);
    for (const placed of [src, agreed, q, y]) placed.destroy();
  }
});

test('quantize beside every rounding boundary: ties and their neighbours at shifts -1 .. 32, budgets with and without factors of 2', async () => {
  // x = m 2^(e-150) with its agreed exponent s above e(x): m M / 2^(24+s) lies within 2/M of a
  // half-integer k + 1/2 for m near (2k + 1) 2^(23+s) / M, so both the rounding's remainder test
  // and its tie rule (sticky bits below 2^23, odd kept part) decide each value.
  let seed = 777;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (const workers of [1, 2, 3, 8, 2047, 65537, 2 ** 29, 2 ** 31 - 1, 1 + Math.floor(random() * (2 ** 31 - 2)), 5 + Math.floor(random() * 1000)]) {
    const budget = switchmlWorkerBudget(workers);
    const bits: number[] = [];
    const exponents: number[] = [];
    for (let shift = -1; shift <= 32; shift++) {
      for (let j = 0; j < 12; j++) {
        const field = 1 + Math.floor(random() * 220);
        const k = Math.floor(random() * Math.max(1, budget / 2 ** Math.max(shift, 0)));
        const near = Math.round((2 * k + 1) * 2 ** (23 + shift) / budget);
        for (let d = -2; d <= 2; d++) {
          const m = near + d >= 2 ** 23 && near + d < 2 ** 24 ? near + d : 2 ** 23 + Math.floor(random() * 2 ** 23);
          bits.push(((j % 2 ? 0x80000000 : 0) | (field << 23) | (m - 2 ** 23)) >>> 0);
          exponents.push(field - 126 + shift);
        }
      }
    }
    const x = new Float32Array(Uint32Array.from(bits).buffer);
    const agreed = Int32Array.from(exponents);
    const src = new Placed(0, x);
    const onGpu = new Placed(4, agreed);
    const q = Placed.empty(0, x.length * 4);
    await gpuSwitchmlQuantize(ctx, { src: src.region, exponents: onGpu.region, dst: q.region, count: x.length, blockSize: 1, workers });
    await q.expect(switchmlQuantize(x, agreed, x.length, 1, workers), `workers ${workers}: quantize`);
    for (const placed of [src, onGpu, q]) placed.destroy();
  }
});

test('dequantize at the edges of the exponent range: sums that reach Inf or flush to +0, and those just inside', async () => {
  const workers = 2;
  const sums = Int32Array.from([2 ** 30, -(2 ** 30), 3 * 2 ** 29, -3 * 2 ** 29, 2 ** 30 - 1, 2 ** 29, 2 ** 31 - 1, -(2 ** 31 - 1), 3, -1, 0]);
  for (const exponent of [128, 127, -125, -124, 129]) {
    const count = sums.length;
    const exponents = new Int32Array(count).fill(exponent);
    const src = new Placed(4, sums);
    const agreed = new Placed(0, exponents);
    const y = Placed.empty(8, count * 4);
    await gpuSwitchmlDequantize(ctx, { src: src.region, exponents: agreed.region, dst: y.region, count, blockSize: 1, workers });
    await y.expect(switchmlDequantize(sums, exponents, count, 1, workers), `exponent ${exponent}: dequantize`);
    for (const placed of [src, agreed, y]) placed.destroy();
  }
});

test('bad arguments are rejected before anything is recorded', async () => {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const a = device.createBuffer({ size: 1024, usage });
  const b = device.createBuffer({ size: 1024, usage });
  const c = device.createBuffer({ size: 64, usage });
  const base = { src: region(a), exponents: region(b), dst: region(c), count: 16, blockSize: 8, workers: 2 };
  const encoder = device.createCommandEncoder();
  assert.throws(() => encodeSwitchmlQuantize(ctx, encoder, { ...base, src: region(a, 2) }), /switchml quantize: src: byte offset 2 is not a non-negative multiple of 4/);
  assert.throws(() => encodeSwitchmlQuantize(ctx, encoder, { ...base, count: 17 }), /switchml quantize: dst: needs 68 bytes at offset 0 but the buffer holds 64/);
  assert.throws(() => encodeSwitchmlQuantize(ctx, encoder, { ...base, blockSize: 0 }), /block size 0 is not an integer/);
  assert.throws(() => encodeSwitchmlQuantize(ctx, encoder, { ...base, workers: 0 }), /workers 0 is not an integer in \[1/);
  assert.throws(() => encodeSwitchmlQuantize(ctx, encoder, { ...base, dst: region(a, 512) }), /dst and src are in the same buffer/);
  assert.throws(() => encodeSwitchmlQuantize(ctx, encoder, { ...base, count: -1 }), /count -1/);
  await rejects(gpuSwitchmlDequantize(ctx, { ...base, workers: 1.5 }), /InvalidArgument: .*workers 1.5/);
  await rejects(gpuSwitchmlBlockExponents(ctx, { src: region(a), exponents: region(c), count: 200, blockSize: 1 }), /exponents: needs 800 bytes/);
  encoder.finish();
  // Nothing was recorded, and the device still works.
  await roundTrip(9, 4, 0);
  for (const buffer of [a, b, c]) buffer.destroy();
});

test.run();
