// Every kernel family on a device requested with no limits and no features: what a caller who
// injects their own GPUDevice usually has (browsers and TypeGPU-style users take the defaults),
// and what our own requestGpuDevice hides by raising every limit. WebGPU's defaults allow 8
// storage buffers per stage and 256 invocations per workgroup; each kernel variant declares only
// the storage buffers it binds, so everything but an n-ary reduce of 8 sources in 8 other
// buffers (9 bindings) runs here, bit-identical to the CPU layer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { elementBytes, premulSum, type DataType, type ReduceOp } from '../lib/dtype.js';
import { WebcclError } from '../lib/errors.js';
import { packBits, packedWords, unpackBits, type LaneBits } from '../lib/cpu/bitpack.js';
import { castFromFloat32, castToFloat32, type HalfType } from '../lib/cpu/cast.js';
import { int8Dequantize, int8PackedWords, int8Quantize } from '../lib/cpu/int8.js';
import { onebitCompress, onebitDecompress, onebitSignWords } from '../lib/cpu/onebit.js';
import { finishAverage, premultiply, reduceAccumulate, reduceNary } from '../lib/cpu/reduce.js';
import { switchmlBlockExponents, switchmlDequantize, switchmlQuantize } from '../lib/cpu/switchml.js';
import { gpuPackBits, gpuUnpackBits } from '../lib/gpu/bitpack.js';
import { gpuCastFromFloat32, gpuCastToFloat32 } from '../lib/gpu/cast.js';
import { GpuContext } from '../lib/gpu/context.js';
import { gpuInt8Dequantize, gpuInt8Quantize } from '../lib/gpu/int8.js';
import { nodeGpu } from '../lib/gpu/node-device.js';
import { gpuOnebitCompress, gpuOnebitDecompress } from '../lib/gpu/onebit.js';
import {
  encodeReduceNary, gpuFinishAverage, gpuPremultiply, gpuReduceAccumulate, gpuReduceNary,
} from '../lib/gpu/reduce.js';
import { gpuSwitchmlBlockExponents, gpuSwitchmlDequantize, gpuSwitchmlQuantize } from '../lib/gpu/switchml.js';
import { readRegion, writeRegion } from '../lib/gpu/transfer.js';
import { codecInputs } from './helpers/codec-inputs.js';
import { Placed } from './helpers/codec-gpu.js';
import { allocate, createWorld, destroyWorld, inputFor, oracleReduce, sameElements } from './helpers/comm-world.js';
import { assertSameElements, Mirrored, randomBytes, randomWords, scalarFor } from './helpers/gpu.js';

const adapter = await (await nodeGpu()).requestAdapter();
if (!adapter) throw new Error('no WebGPU adapter');
const bare = await adapter.requestDevice();
const ctx = GpuContext.for(bare);

const DTYPES: readonly DataType[] = ['float32', 'float16', 'bfloat16', 'int32', 'uint32'];
const OPS: readonly ReduceOp[] = ['sum', 'prod', 'min', 'max', 'avg', premulSum(0.3)];
const COUNT = 1001;

let seed = 5;

test('the device has WebGPU default limits', () => {
  assert.is(bare.limits.maxStorageBuffersPerShaderStage, 8);
  assert.is(bare.limits.maxComputeInvocationsPerWorkgroup, 256);
  assert.is(bare.limits.maxComputeWorkgroupSizeX, 256);
  assert.is(bare.limits.maxComputeWorkgroupsPerDimension, 65535);
});

/** One reduce form over k sources at unaligned offsets, on the GPU and the CPU, whole dst buffer compared. */
async function checkReduce(form: 'accumulate' | 'nary', dtype: DataType, op: ReduceOp, k: number): Promise<void> {
  const bytes = COUNT * elementBytes(dtype);
  const dst = new Mirrored(randomBytes(dtype, op, (8 + bytes) / elementBytes(dtype) + 6, seed++), bare);
  const sources = Array.from({ length: k }, (_, j) => new Mirrored(randomBytes(dtype, op, (4 * j + bytes) / elementBytes(dtype) + 2, seed++), bare));
  const run = form === 'accumulate' ? gpuReduceAccumulate : gpuReduceNary;
  const cpu = form === 'accumulate' ? reduceAccumulate : reduceNary;
  await run(ctx, dst.region(8), sources.map((s, j) => s.region(4 * j)), COUNT, dtype, op);
  cpu(dst.view(8), sources.map((s, j) => s.view(4 * j)), COUNT, dtype, op);
  assertSameElements(await dst.readBack(), dst.host, dtype, `${form} ${dtype} ${JSON.stringify(op)} k ${k}`);
  for (const b of [dst, ...sources]) b.destroy();
}

for (const dtype of DTYPES) {
  test(`reduce ${dtype}: accumulate and n-ary with 1..7 sources in their own buffers`, async () => {
    for (let k = 1; k <= 7; k++) {
      // A different op per source count keeps the suite short while every op is covered.
      const op = scalarFor(dtype, OPS[k % OPS.length]!);
      await checkReduce('accumulate', dtype, op, k);
      await checkReduce('nary', dtype, op, k);
    }
  });
}

test('reduce: premultiply and finishAverage, every dtype, in and out of place', async () => {
  for (const dtype of DTYPES) {
    const bytes = COUNT * elementBytes(dtype);
    const scalar = dtype === 'int32' || dtype === 'uint32' ? -3 : 0.3;
    const dst = new Mirrored(randomBytes(dtype, 'sum', (4 + bytes) / elementBytes(dtype) + 2, seed++), bare);
    const src = new Mirrored(randomBytes(dtype, 'sum', bytes / elementBytes(dtype), seed++), bare);
    await gpuPremultiply(ctx, dst.region(4), src.region(0), COUNT, dtype, scalar);
    premultiply(dst.view(4), src.view(0), COUNT, dtype, scalar);
    assertSameElements(await dst.readBack(), dst.host, dtype, `premultiply ${dtype}`);
    await gpuFinishAverage(ctx, dst.region(4), dst.region(4), COUNT, dtype, 3);
    finishAverage(dst.view(4), dst.view(4), COUNT, dtype, 3);
    assertSameElements(await dst.readBack(), dst.host, dtype, `finishAverage ${dtype}`);
    for (const b of [dst, src]) b.destroy();
  }
});

test('reduce: n-ary of 8 sources fits when one lies in dst\'s buffer (8 bindings)', async () => {
  const dst = new Mirrored(randomBytes('float32', 'sum', COUNT, seed++), bare);
  const others = Array.from({ length: 7 }, () => new Mirrored(randomBytes('float32', 'sum', COUNT, seed++), bare));
  const sources = [dst, ...others];
  await gpuReduceNary(ctx, dst.region(0), sources.map((s) => s.region(0)), COUNT, 'float32', 'max');
  reduceNary(dst.view(0), sources.map((s) => s.view(0)), COUNT, 'float32', 'max');
  assertSameElements(await dst.readBack(), dst.host, 'float32', 'in-place n-ary of 8');
  for (const b of sources) b.destroy();
});

test('reduce: n-ary of 8 sources in 8 other buffers is an InvalidArgument naming the limit, nothing recorded', async () => {
  const dst = new Mirrored(randomBytes('float32', 'sum', COUNT, seed++), bare);
  const sources = Array.from({ length: 8 }, () => new Mirrored(randomBytes('float32', 'sum', COUNT, seed++), bare));
  const encoder = bare.createCommandEncoder();
  assert.throws(
    () => encodeReduceNary(ctx, encoder, dst.region(0), sources.map((s) => s.region(0)), COUNT, 'float32', 'sum'),
    (e: unknown) => e instanceof WebcclError && e.code === 'InvalidArgument' && /9 storage buffers.*maxStorageBuffersPerShaderStage is 8/.test(e.message),
  );
  bare.queue.submit([encoder.finish()]);
  assertSameElements(await dst.readBack(), dst.host, 'float32', 'dst untouched');
  for (const b of [dst, ...sources]) b.destroy();
});

test('casts float32 <-> float16 and bfloat16, odd counts', async () => {
  for (const half of ['float16', 'bfloat16'] as const satisfies readonly HalfType[]) {
    const floats = new Mirrored(new Uint8Array(randomWords(COUNT, seed++).buffer), bare);
    const halves = new Mirrored(new Uint8Array(randomWords(Math.ceil(COUNT / 2), seed++).buffer), bare);
    await gpuCastFromFloat32(ctx, halves.region(0), floats.region(0), COUNT, half);
    castFromFloat32(halves.view(0), floats.view(0), COUNT, half);
    assertSameElements(await halves.readBack(), halves.host, half, `narrow to ${half}`);
    const back = new Mirrored(new Uint8Array(randomWords(COUNT, seed++).buffer), bare);
    await gpuCastToFloat32(ctx, back.region(0), halves.region(0), COUNT, half);
    castToFloat32(back.view(0), halves.view(0), COUNT, half);
    assertSameElements(await back.readBack(), back.host, 'float32', `widen from ${half}`);
    for (const b of [floats, halves, back]) b.destroy();
  }
});

test('bitpack: every lane width, pack and unpack, src in its own buffer and in dst\'s', async () => {
  for (const bits of [1, 2, 4, 8, 16] as const satisfies readonly LaneBits[]) {
    const values = new Mirrored(new Uint8Array(randomWords(COUNT, seed++).buffer), bare);
    const words = packedWords(COUNT, bits);
    const packed = new Mirrored(new Uint8Array(randomWords(words, seed++).buffer), bare);
    await gpuPackBits(ctx, packed.region(0), values.region(0), COUNT, bits);
    packBits(packed.view(0), values.view(0), COUNT, bits);
    assertSameElements(await packed.readBack(), packed.host, 'uint32', `pack ${bits}`);
    // Unpack into the same buffer as the packed words (read through dst's binding).
    const both = new Mirrored(new Uint8Array(randomWords(words + COUNT, seed++).buffer), bare);
    both.host.set(packed.host.subarray(0, words * 4));
    writeRegion(bare, both.region(0), both.host);
    await gpuUnpackBits(ctx, both.region(words * 4), both.region(0), COUNT, bits);
    unpackBits(both.view(words * 4), both.view(0), COUNT, bits);
    assertSameElements(await both.readBack(), both.host, 'uint32', `unpack ${bits}`);
    for (const b of [values, packed, both]) b.destroy();
  }
});

test('codecs: switchml, int8 and onebit (both compress layouts), bit for bit', async () => {
  const blockSize = 64;
  const blocks = Math.ceil(COUNT / blockSize);
  const x = codecInputs(COUNT, seed++, { band: blockSize, nonFinite: true });
  const onGpu = new Placed(4, x, bare);

  const exponents = switchmlBlockExponents(x, COUNT, blockSize);
  const exponentsOnGpu = Placed.empty(8, blocks * 4, bare);
  await gpuSwitchmlBlockExponents(ctx, { src: onGpu.region, exponents: exponentsOnGpu.region, count: COUNT, blockSize });
  await exponentsOnGpu.expect(exponents, 'switchml exponents');
  const q = Placed.empty(0, COUNT * 4, bare);
  await gpuSwitchmlQuantize(ctx, { src: onGpu.region, exponents: exponentsOnGpu.region, dst: q.region, count: COUNT, blockSize, workers: 2 });
  const quantized = switchmlQuantize(x, exponents, COUNT, blockSize, 2);
  await q.expect(quantized, 'switchml quantize');
  const y = Placed.empty(12, COUNT * 4, bare);
  await gpuSwitchmlDequantize(ctx, { src: q.region, exponents: exponentsOnGpu.region, dst: y.region, count: COUNT, blockSize, workers: 2 });
  await y.expect(switchmlDequantize(quantized, exponents, COUNT, blockSize, 2), 'switchml dequantize');

  const int8 = int8Quantize(x, COUNT, blockSize);
  const packed = Placed.empty(4, int8PackedWords(COUNT) * 4, bare);
  const scales = Placed.empty(8, blocks * 4, bare);
  await gpuInt8Quantize(ctx, { src: onGpu.region, packed: packed.region, scales: scales.region, count: COUNT, blockSize });
  await packed.expect(int8.packed, 'int8 packed');
  await scales.expect(int8.scales, 'int8 scales');
  await gpuInt8Dequantize(ctx, { packed: packed.region, scales: scales.region, dst: y.region, count: COUNT, blockSize });
  await y.expect(int8Dequantize(int8.packed, int8.scales, COUNT, blockSize), 'int8 dequantize');

  for (const compressLayout of ['workgroup-per-block', 'thread-per-block'] as const) {
    const residual = new Float32Array(COUNT).fill(0.25);
    const residualOnGpu = new Placed(0, residual, bare);
    const signs = Placed.empty(4, onebitSignWords(COUNT) * 4, bare);
    await gpuOnebitCompress(ctx, { x: onGpu.region, residual: residualOnGpu.region, signs: signs.region, scales: scales.region, count: COUNT, blockSize }, { compressLayout });
    const onebit = onebitCompress(x, residual, COUNT, blockSize);
    await signs.expect(onebit.signs, `onebit signs (${compressLayout})`);
    await scales.expect(onebit.scales, `onebit scales (${compressLayout})`);
    await residualOnGpu.expect(residual, `onebit residual (${compressLayout})`);
    await gpuOnebitDecompress(ctx, { signs: signs.region, scales: scales.region, dst: y.region, count: COUNT, blockSize });
    await y.expect(onebitDecompress(onebit.signs, onebit.scales, COUNT, blockSize), `onebit decompress (${compressLayout})`);
    for (const placed of [residualOnGpu, signs]) placed.destroy();
  }
  for (const placed of [onGpu, exponentsOnGpu, q, y, packed, scales]) placed.destroy();
});

test('communicator: allReduce on GPUBuffers of the injected default-limits device, 2 ranks', async () => {
  const comms = await createWorld(2, { device: bare, chunkBytes: 4096, timeoutMs: 60_000 });
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  try {
    for (const [dtype, op] of [['float32', 'sum'], ['float32', 'avg'], ['bfloat16', premulSum(0.5)], ['int32', 'max']] as const) {
      const count = 3001;
      const bytes = Math.ceil((count * elementBytes(dtype)) / 4) * 4;
      const inputs = comms.map((c) => inputFor(dtype, op, c.rank, count));
      const buffers = inputs.map((input) => {
        const buffer = bare.createBuffer({ size: bytes, usage });
        const image = new Uint8Array(bytes);
        image.set(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
        writeRegion(bare, { buffer, byteOffset: 0 }, image);
        return buffer;
      });
      await Promise.all(comms.map((c, r) => c.allReduce({ buffer: buffers[r]! }, { buffer: buffers[r]! }, count, dtype, op)));
      const expected = oracleReduce(inputs, count, dtype, op);
      for (const [r, buffer] of buffers.entries()) {
        const got = allocate(dtype, count);
        new Uint8Array(got.buffer).set((await readRegion(bare, { buffer, byteOffset: 0 }, bytes)).subarray(0, got.byteLength));
        sameElements(got, expected, `allReduce ${dtype} ${JSON.stringify(op)} rank ${r}`);
        buffer.destroy();
      }
    }
  } finally {
    await destroyWorld(comms);
  }
});

test.after(() => bare.destroy());

test.run();
