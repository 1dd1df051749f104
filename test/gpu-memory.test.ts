// GPU memory (lib/gpu/gpu-memory.ts) as the collectives see it: explicit element counts, and
// received payloads checked against them, on a real WebGPU device.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebcclError } from '../lib/errors.js';
import { assertWrongSizePayloadsRefused } from './helpers/payload-checks.js';
import { GpuMemorySpace } from '../lib/gpu/gpu-memory.js';
import { readRegion, writeRegion } from '../lib/gpu/transfer.js';
import { device } from './helpers/gpu.js';

const space = new GpuMemorySpace(device);
const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const bytesOf = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

function gpuBuffer(values: number[]) {
  const buffer = device.createBuffer({ size: values.length * 4, usage: USAGE });
  writeRegion(device, { buffer, byteOffset: 0 }, bytesOf(values));
  return { buffer, located: { kind: 'gpu' as const, what: 'test buffer', buffer, byteOffset: 0 } };
}

async function values(buffer: GPUBuffer): Promise<number[]> {
  return [...new Float32Array((await readRegion(device, { buffer, byteOffset: 0 }, buffer.size)).buffer)];
}

test('write and accumulate take the element count and use exactly that many', async () => {
  const { buffer, located } = gpuBuffer([1, 2, 3, 4]);
  const memory = space.bind('float32', 'sum', 2);
  const region = space.region(located, 'float32', 0, 4);
  await memory.accumulate(region, 1, 2, bytesOf([10, 20]));
  await memory.write(region, 2, 2, bytesOf([7, 8]));
  await memory.finish();
  assert.equal(await values(buffer), [1, 12, 7, 8]);
  buffer.destroy();
});

test('a payload of the wrong size is an error naming the sender, never folded as fewer elements', async () => {
  const { buffer, located } = gpuBuffer([1, 2, 3, 4]);
  const memory = space.bind('float32', 'sum', 2);
  const region = space.region(located, 'float32', 0, 4);
  await assertWrongSizePayloadsRefused(memory, region);
  await memory.finish();
  assert.equal(await values(buffer), [1, 2, 3, 4], 'nothing was changed');
  buffer.destroy();
});

const gpuBytes = (bytes: Uint8Array) => {
  const buffer = device.createBuffer({ size: Math.ceil(bytes.byteLength / 4) * 4, usage: USAGE });
  const padded = new Uint8Array(buffer.size);
  padded.set(bytes);
  writeRegion(device, { buffer, byteOffset: 0 }, padded);
  return buffer;
};

test('fused primitives give the bytes and memory of the separate calls, bit for bit', async () => {
  const dtypes = [['float32', 4], ['float16', 2], ['bfloat16', 2], ['int32', 4]] as const;
  for (const [dtype, size] of dtypes) {
    for (const op of ['sum', 'avg', 'max'] as const) {
      if (op === 'avg' && dtype === 'int32') continue;
      const total = 10;
      const [at, count] = [2, 7]; // an odd 16-bit count: the last word is shared with a neighbour
      const start = new Uint8Array(total * size).map((_, i) => (i * 37 + 11) & 0x3f);
      const received = new Uint8Array(count * size).map((_, i) => (i * 53 + 5) & 0x3f);
      const [fused, separate] = [gpuBytes(start), gpuBytes(start)];
      const memory = space.bind(dtype, op, 3);
      const region = (buffer: GPUBuffer) => space.region({ kind: 'gpu', what: 'test', buffer, byteOffset: 0 }, dtype, 0, total);
      const label = `${dtype} ${op}`;
      // recvReduceSend = accumulate + outgoing
      const sent = await memory.recvReduceSend(region(fused), at, count, received);
      await memory.accumulate(region(separate), at, count, received);
      assert.equal([...sent], [...await memory.outgoing(region(separate), at, count)], `${label}: recvReduceSend bytes`);
      // recvReduceCopySend = accumulate + finalize + outgoing
      const final = await memory.recvReduceCopySend(region(fused), at, count, received);
      await memory.accumulate(region(separate), at, count, received);
      await memory.finalize(region(separate), at, count);
      assert.equal([...final], [...await memory.outgoing(region(separate), at, count)], `${label}: recvReduceCopySend bytes`);
      // recvCopySend = write, forwarding the received bytes
      const forwarded = await memory.recvCopySend(region(fused), 0, count, received);
      await memory.write(region(separate), 0, count, received);
      assert.is(forwarded, received, `${label}: recvCopySend forwards what it received`);
      // recvReduceAll = write + accumulates + finalize
      await memory.recvReduceAll(region(fused), 0, count, [received, final, sent], true);
      await memory.write(region(separate), 0, count, received);
      await memory.accumulate(region(separate), 0, count, final);
      await memory.accumulate(region(separate), 0, count, sent);
      await memory.finalize(region(separate), 0, count);
      await memory.finish();
      const [a, b] = await Promise.all([fused, separate].map((buffer) => readRegion(device, { buffer, byteOffset: 0 }, buffer.size)));
      assert.equal([...a!], [...b!], `${label}: memory after the fused and the separate calls`);
      fused.destroy();
      separate.destroy();
    }
  }
});

test('a fused primitive checks the payload size too', async () => {
  const { buffer, located } = gpuBuffer([1, 2, 3, 4]);
  const memory = space.bind('float32', 'sum', 2);
  const region = space.region(located, 'float32', 0, 4);
  for (const action of [
    () => memory.recvReduceSend(region, 0, 4, new Uint8Array(0)),
    () => memory.recvReduceCopySend(region, 0, 4, bytesOf([1])),
    () => memory.recvCopySend(region, 0, 2, new Uint8Array(0)),
    () => memory.recvReduceAll(region, 0, 4, [bytesOf([1, 2, 3, 4]), new Uint8Array(0)], true),
  ]) {
    try {
      await action();
      assert.unreachable('a payload of the wrong size was accepted');
    } catch (error) {
      assert.is((error as WebcclError).code, 'RemoteError');
    }
  }
  await memory.finish();
  assert.equal(await values(buffer), [1, 2, 3, 4], 'nothing was changed');
  buffer.destroy();
});

test.run();
