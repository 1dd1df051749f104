// The 1-bit kernels on the real device against the CPU codec, bit for bit, over several error
// feedback steps (the residual carries from step to step on both sides). Sizes 0, 1, odd and
// ragged, more than 65535 workgroups, regions at unaligned offsets, work split at the binding
// limit, NaN/Inf/subnormal inputs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { onebitCompress, onebitDecompress, onebitSignWords } from '../lib/cpu/onebit.js';
import { encodeOnebitCompress, gpuOnebitCompress, gpuOnebitDecompress } from '../lib/gpu/onebit.js';
import type { OnebitOptions } from '../lib/gpu/onebit.js';
import { region } from '../lib/gpu/region.js';
import { codecInputs } from './helpers/codec-inputs.js';
import { Placed } from './helpers/codec-gpu.js';
import { ctx, device } from './helpers/gpu.js';
import { rejects } from './helpers/assert.js';

/** Byte offsets of the regions other than x (default: offset + 8, + 4 and + 12). */
interface Placement {
  readonly residual?: number;
  readonly signs?: number;
  readonly dst?: number;
}

async function steps(
  count: number, blockSize: number, offset: number, stepCount: number, options: OnebitOptions = {}, placement: Placement = {},
): Promise<void> {
  const blocks = Math.ceil(count / blockSize);
  const residual = new Float32Array(count);
  const residualOnGpu = Placed.empty(placement.residual ?? offset + 8, count * 4);
  for (let step = 0; step < stepCount; step++) {
    const what = `count ${count}, block ${blockSize}, offset ${offset}, step ${step}`;
    const input = codecInputs(count, count + step, { band: 32, nonFinite: step === 1 });
    const x = new Placed(offset, input);
    const signs = Placed.empty(placement.signs ?? offset + 4, onebitSignWords(count) * 4);
    const scales = Placed.empty(offset, blocks * 4);
    await gpuOnebitCompress(ctx, { x: x.region, residual: residualOnGpu.region, signs: signs.region, scales: scales.region, count, blockSize }, options);
    const want = onebitCompress(input, residual, count, blockSize);
    await signs.expect(want.signs, `${what}: signs`);
    await scales.expect(want.scales, `${what}: scales`);
    await residualOnGpu.expect(residual, `${what}: residual`);

    const y = Placed.empty(placement.dst ?? offset + 12, count * 4);
    await gpuOnebitDecompress(ctx, { signs: signs.region, scales: scales.region, dst: y.region, count, blockSize }, options);
    await y.expect(onebitDecompress(want.signs, want.scales, count, blockSize), `${what}: decompress`);
    for (const placed of [x, signs, scales, y]) placed.destroy();
    // Keep the host image of the residual in step with the GPU for the next comparison.
    residualOnGpu.mirror.host.set(new Uint8Array(residual.buffer), residualOnGpu.offset);
  }
  residualOnGpu.destroy();
}

test('sizes 0, 1, odd and ragged over error-feedback steps', async () => {
  for (const count of [0, 1, 33, 1001]) await steps(count, 64, 0, 3);
  await steps(4096, 256, 0, 2);
});

test('regions at offsets that are not binding-aligned', async () => {
  await steps(1001, 32, 4, 2);
  await steps(700, 96, 260, 2);
});

test('decompress a sign word per thread (consecutive layout, dst on a vec4 boundary) and not', async () => {
  const unitLayout = 'consecutive';
  for (const [signs, dst] of [[0, 0], [16, 272], [4, 0], [0, 8]] as const) {
    // Whole words (blocks of 96 and 256), a ragged last word (quads), a ragged quad (scalar), pieces.
    for (const count of [128 * 12, 128 * 12 - 32, 128 * 12 - 4]) {
      for (const blockSize of [96, 256]) await steps(count, blockSize, 0, 2, { unitLayout, workgroupSize: 4 }, { signs, dst });
    }
    await steps(128 * 20, 32, 0, 1, { unitLayout, maxBindingBytes: 1024 }, { signs, dst });
  }
});

test('every residue of the 4 elements a decompress thread takes', async () => {
  for (let count = 1; count <= 9; count++) await steps(count, 32, 4 * (count % 4), 1);
});

test('decompress as vec4 quads and as scalar quads, in both unit layouts', async () => {
  for (const unitLayout of ['coalesced', 'consecutive'] as const) {
    for (const offset of [0, 4, 16, 260]) {
      await steps(32 * 8 * 5, 64, offset, 1, { unitLayout, workgroupSize: 4 });
      await steps(32 * 8 * 5 - 5, 64, offset, 1, { unitLayout, workgroupSize: 4 });
    }
  }
});

test('more than 65535 workgroups (2-D grid)', async () => {
  // decompress threads take 4 elements: 8-thread workgroups cover 32 elements each.
  await steps((ctx.maxWorkgroupsPerDimension + 1) * 32 + 5, 32, 4, 1, { workgroupSize: 8 });
});

test('work split into pieces at the binding limit', async () => {
  await steps(5000, 64, 20, 2, { maxBindingBytes: 2048 });
});

test('both compress layouts give the same bits (the default depends on the adapter)', async () => {
  for (const compressLayout of ['workgroup-per-block', 'thread-per-block'] as const) {
    await steps(1000, 64, 0, 3, { compressLayout });
    await steps(257, 32, 8, 2, { compressLayout, maxBindingBytes: 1024 });
  }
  await steps((ctx.maxWorkgroupsPerDimension + 1) * 32 + 5, 32, 4, 1, { compressLayout: 'thread-per-block', workgroupSize: 1 });
});

test('workgroup-per-block compress: blocks of several 256-element chunks, whole and ragged', async () => {
  // The layout's sign/residual pass takes 4 elements a thread, 256 a chunk: blocks of 512 (two
  // chunks), 288 (a chunk and one word), 256 (one), and ragged last blocks of every kind.
  const compressLayout = 'workgroup-per-block';
  await steps(2048, 512, 0, 2, { compressLayout });
  await steps(2000, 512, 4, 3, { compressLayout });
  await steps(288 * 5 + 33, 288, 8, 2, { compressLayout });
  await steps(256 * 3 + 250, 256, 12, 2, { compressLayout, maxBindingBytes: 2048 });
});

test('bad arguments are rejected before anything is recorded', async () => {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const [a, b, c, d] = [4096, 4096, 64, 64].map((size) => device.createBuffer({ size, usage }));
  const base = { x: region(a!), residual: region(b!), signs: region(c!), scales: region(d!), count: 512, blockSize: 64 };
  const encoder = device.createCommandEncoder();
  assert.throws(() => encodeOnebitCompress(ctx, encoder, { ...base, blockSize: 48 }), /onebit compress: block size 48 is not a multiple of 32/);
  assert.throws(() => encodeOnebitCompress(ctx, encoder, { ...base, residual: region(a!) }), /residual and x are in the same buffer/);
  assert.throws(() => encodeOnebitCompress(ctx, encoder, { ...base, x: region(a!, 3) }), /onebit compress: x: byte offset 3/);
  assert.throws(() => encodeOnebitCompress(ctx, encoder, { ...base, count: 1025 }), /x: needs 4100 bytes/);
  encoder.finish();
  await rejects(gpuOnebitDecompress(ctx, { signs: region(c!), scales: region(d!), dst: region(a!), count: 4096, blockSize: 32 }), /InvalidArgument: onebit decompress: signs: needs 512 bytes/);
  for (const buffer of [a, b, c, d]) buffer!.destroy();
});

test.run();
