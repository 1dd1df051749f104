// Host memory (lib/cpu/cpu-memory.ts) as the collectives see it: explicit element counts, and
// received payloads checked against them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CpuMemorySpace } from '../lib/cpu/cpu-memory.js';
import { assertWrongSizePayloadsRefused } from './helpers/payload-checks.js';

const space = new CpuMemorySpace();

function located(values: number[]) {
  const array = new Float32Array(values);
  return { array, located: { kind: 'cpu' as const, what: 'test buffer', bytes: new Uint8Array(array.buffer) } };
}

const bytesOf = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

test('write and accumulate take the element count and use exactly that many', async () => {
  const { array, located: buffer } = located([1, 2, 3, 4]);
  const memory = space.bind('float32', 'sum', 2);
  const region = space.region(buffer, 'float32', 0, 4);
  await memory.accumulate(region, 1, 2, bytesOf([10, 20]));
  assert.equal([...array], [1, 12, 23, 4]);
  await memory.write(region, 2, 2, bytesOf([7, 8]));
  assert.equal([...array], [1, 12, 7, 8]);
});

test('a payload of the wrong size is an error naming the sender, never folded as fewer elements', async () => {
  const { array, located: buffer } = located([1, 2, 3, 4]);
  const memory = space.bind('float32', 'sum', 2);
  const region = space.region(buffer, 'float32', 0, 4);
  await assertWrongSizePayloadsRefused(memory, region);
  assert.equal([...array], [1, 2, 3, 4], 'nothing was changed');
});

test('fused primitives are the separate calls: same memory, same bytes to send', async () => {
  const memory = space.bind('float32', 'avg', 2);
  const { array, located: buffer } = located([1, 2, 3, 4]);
  const region = space.region(buffer, 'float32', 0, 4);
  assert.equal([...new Float32Array((await memory.recvReduceSend(region, 1, 2, bytesOf([10, 20]))).slice().buffer)], [12, 23]);
  assert.equal([...new Float32Array((await memory.recvReduceCopySend(region, 1, 2, bytesOf([2, 1]))).slice().buffer)], [7, 12]);
  const received = bytesOf([5, 6]);
  assert.is(await memory.recvCopySend(region, 0, 2, received), received, 'recvCopySend forwards what it received');
  assert.equal([...array], [5, 6, 12, 4]);
  await memory.recvReduceAll(region, 2, 2, [bytesOf([1, 1]), bytesOf([3, 3])], true);
  assert.equal([...array], [5, 6, 2, 2]);
  await memory.recvReduceAll(region, 2, 2, [bytesOf([2, 2])], false);
  assert.equal([...array], [5, 6, 2, 2]);
});

test.run();
