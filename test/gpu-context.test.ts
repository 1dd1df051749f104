// The dispatch machinery under every kernel: a real adapter exists (CI fails without one),
// grids beyond one dimension fold correctly, regions at unaligned offsets bind correctly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNodeDevice } from '../lib/gpu/node-device.js';
import { GpuContext, type KernelVariant } from '../lib/gpu/context.js';
import { readRegion, writeRegion } from '../lib/gpu/transfer.js';
import { checkRegion, region } from '../lib/gpu/region.js';
import { UniformCache } from '../lib/gpu/uniform-cache.js';
import { BindGroupCache } from '../lib/gpu/bind-group-cache.js';
import { rejects } from './helpers/assert.js';
import { wordKernel } from './helpers/word-kernel.js';

// A test-only kernel: out[i] = in[i] + i, touching exactly `count` words from each region's start.
const ADD_INDEX = wordKernel(['src_offset', 'dst_offset'], 'dst[params.dst_offset + i] = src[params.src_offset + i] + i;');

const device = await createNodeDevice();
const ctx = GpuContext.for(device);
const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

async function addIndex(count: number, srcOffset: number, dstOffset: number, workgroupSize: number): Promise<void> {
  const src = device.createBuffer({ size: srcOffset + count * 4 + 4, usage });
  const dst = device.createBuffer({ size: dstOffset + count * 4 + 4, usage });
  const input = new Uint32Array(count).map((_, i) => (i * 2654435761) >>> 0);
  writeRegion(device, region(src, srcOffset), new Uint8Array(input.buffer));
  const variant: KernelVariant = { source: ADD_INDEX, entryPoint: 'main', prelude: [], workgroupSize };
  const s = ctx.bind(region(src, srcOffset), count * 4);
  const d = ctx.bind(region(dst, dstOffset), count * 4);
  await ctx.run((encoder) => ctx.dispatch(encoder, variant, new Uint32Array([s.wordOffset, d.wordOffset]), [s.resource, d.resource], count));
  const out = new Uint32Array((await readRegion(device, region(dst, dstOffset), count * 4)).buffer);
  for (let i = 0; i < count; i++) {
    if (out[i] !== ((input[i]! + i) >>> 0)) assert.unreachable(`word ${i}: got ${out[i]}, want ${(input[i]! + i) >>> 0}`);
  }
  src.destroy();
  dst.destroy();
}

test('a WebGPU adapter exists and is named', () => {
  assert.ok(ctx.adapterName.length > 0);
  assert.ok(ctx.maxBindingBytes >= 128 * 1024 * 1024, `max binding ${ctx.maxBindingBytes}`);
});

test('dispatch: sizes 1, odd, and beyond 65535 workgroups (2-D grid)', async () => {
  await addIndex(1, 0, 0, 64);
  await addIndex(1001, 0, 0, 64);
  await addIndex(ctx.maxWorkgroupsPerDimension * 16 + 17, 0, 0, 16);
});

test('dispatch: regions at offsets that are not binding-aligned', async () => {
  await addIndex(777, 4, 260, 64);
  await addIndex(300, 1020, 12, 256);
});

test('regions: misaligned offsets and short buffers are named', () => {
  const b = device.createBuffer({ size: 64, usage });
  assert.throws(() => checkRegion('src', region(b, 2), 4), /src: byte offset 2 is not a non-negative multiple of 4/);
  assert.throws(() => checkRegion('dst', region(b, 32), 64), /dst: needs 64 bytes at offset 32 but the buffer holds 64/);
  b.destroy();
});

test('uniform cache: same words give the same buffer; the least recently used entry is dropped', () => {
  const cache = new UniformCache(device, 2);
  const a = cache.get(new Uint32Array([1, 2, 3, 4]));
  assert.is(cache.get(new Uint32Array([1, 2, 3, 4])), a);
  const b = cache.get(new Uint32Array([5, 6, 7, 8]));
  assert.is.not(b, a);
  cache.get(new Uint32Array([1, 2, 3, 4])); // a is now the most recent
  cache.get(new Uint32Array([9, 9, 9, 9])); // evicts b
  assert.is(cache.size, 2);
  assert.is(cache.get(new Uint32Array([1, 2, 3, 4])), a);
  assert.is.not(cache.get(new Uint32Array([5, 6, 7, 8])), b);
});

test('bind group cache: one group per (pipeline, uniform, storage ranges)', () => {
  const cache = new BindGroupCache(device);
  const pipeline = ctx.pipeline({ source: ADD_INDEX, entryPoint: 'main', prelude: [], workgroupSize: 64 });
  const uniform = new UniformCache(device).get(new Uint32Array([1, 0, 0, 0]));
  const src = device.createBuffer({ size: 512, usage });
  const dst = device.createBuffer({ size: 512, usage });
  const group = cache.get(pipeline, uniform, [{ buffer: src, offset: 0, size: 256 }, { buffer: dst, offset: 0, size: 256 }]);
  assert.is(cache.get(pipeline, uniform, [{ buffer: src, offset: 0, size: 256 }, { buffer: dst, offset: 0, size: 256 }]), group);
  assert.is.not(cache.get(pipeline, uniform, [{ buffer: src, offset: 256, size: 256 }, { buffer: dst, offset: 0, size: 256 }]), group);
  assert.is.not(cache.get(pipeline, uniform, [{ buffer: dst, offset: 0, size: 256 }, { buffer: src, offset: 0, size: 256 }]), group);
  src.destroy();
  dst.destroy();
});

test('dispatch: the same parameters on other buffers, in one encoder and across submits', async () => {
  // Same count and offsets, so every dispatch shares one cached uniform buffer; the bind groups must differ.
  const variant: KernelVariant = { source: ADD_INDEX, entryPoint: 'main', prelude: [], workgroupSize: 64 };
  for (let round = 0; round < 2; round++) {
    const pairs = [1, 2].map((fill) => {
      const src = device.createBuffer({ size: 64, usage });
      writeRegion(device, region(src), new Uint8Array(new Uint32Array(16).fill(fill * 1000 + round).buffer));
      return { src, dst: device.createBuffer({ size: 64, usage }), fill };
    });
    await ctx.run((encoder) => {
      for (const { src, dst } of pairs) ctx.dispatch(encoder, variant, new Uint32Array([0, 0]), [{ buffer: src }, { buffer: dst }], 16);
    });
    for (const { src, dst, fill } of pairs) {
      const out = new Uint32Array((await readRegion(device, region(dst), 64)).buffer);
      assert.equal([...out], Array.from({ length: 16 }, (_, i) => fill * 1000 + round + i));
      src.destroy();
      dst.destroy();
    }
  }
});

test('run: validation errors reject instead of printing', async () => {
  const b = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
  await rejects(ctx.run((encoder) => encoder.copyBufferToBuffer(b, 0, b, 0, 16)), /GPU rejected the work/);
});

test('submit: validation errors reject too; work it does not wait for is seen by a later read', async () => {
  const b = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
  await rejects(ctx.submit((encoder) => encoder.copyBufferToBuffer(b, 0, b, 0, 16)), /GPU rejected the work/);
  b.destroy();
  const src = device.createBuffer({ size: 64, usage });
  const dst = device.createBuffer({ size: 64, usage });
  const words = Uint32Array.from({ length: 16 }, (_, i) => 7000 + i);
  writeRegion(device, region(src), new Uint8Array(words.buffer));
  await ctx.submit((encoder) => encoder.copyBufferToBuffer(src, 0, dst, 0, 64));
  assert.equal([...new Uint32Array((await readRegion(device, region(dst), 64)).buffer)], [...words]);
  src.destroy();
  dst.destroy();
});

test.run();
