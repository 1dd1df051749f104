// GPU memory (lib/gpu/gpu-memory.ts) as the collectives see it: explicit element counts, and
// received payloads checked against them, on a real WebGPU device.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebcclError } from '../lib/errors.js';
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
  for (const [name, action] of [
    ['accumulate of an empty payload', () => memory.accumulate(region, 0, 4, new Uint8Array(0))],
    ['accumulate of a short payload', () => memory.accumulate(region, 0, 4, bytesOf([1, 1]))],
    ['write of a long payload', () => memory.write(region, 0, 2, bytesOf([1, 1, 1]))],
  ] as const) {
    try {
      await action();
      assert.unreachable(`${name} was accepted`);
    } catch (error) {
      assert.instance(error, WebcclError, name);
      assert.is((error as WebcclError).code, 'RemoteError', name);
      assert.match((error as WebcclError).message, /a peer sent \d+ bytes where \d+ float32 elements \(\d+ bytes\) were expected/, name);
    }
  }
  await memory.finish();
  assert.equal(await values(buffer), [1, 2, 3, 4], 'nothing was changed');
  buffer.destroy();
});

test.run();
