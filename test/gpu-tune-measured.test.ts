// Communicator.tune() on GPU memory (the real WebGPU device; lavapipe here, and this suite fails
// without an adapter): a GPU allreduce shape run under 'auto' is timed on GPU buffers of its own,
// apart from the same shape on host memory, every rank keeps the same choice, and the calls
// after it stay exact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js';
import { chooseAlgorithm } from '../lib/tune/select.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';
import { device } from './helpers/gpu.js';
import { download, upload } from './helpers/gpu-ranges.js';
import { within } from './within.js';

const COUNT = 3001;
const input = (rank: number) => Float32Array.from({ length: COUNT }, (_, i) => ((i + 5 * rank) % 9) - 4);
const expected = (size: number) => Array.from({ length: COUNT }, (_, i) => Array.from({ length: size }, (_, r) => input(r)[i]!).reduce((a, b) => a + b, 0));

async function gpuAllReduce(comms: Awaited<ReturnType<typeof createWorld>>): Promise<void> {
  const ranges = comms.map((_, r) => upload(input(r)));
  try {
    await Promise.all(comms.map((comm, r) => comm.allReduce(ranges[r]!, ranges[r]!, COUNT, 'float32', 'sum')));
    for (const range of ranges) assert.equal(Array.from(await download(range, 'float32', COUNT)), expected(comms.length));
  } finally {
    for (const range of ranges) range.buffer.destroy();
  }
}

test('tune() times a GPU shape on GPU buffers, apart from the host shape of the same size; every rank keeps the same choice and calls stay exact', async () => {
  const comms = await within(createWorld(3, { device }), 30_000, 'a world with a device');
  try {
    await gpuAllReduce(comms);
    const host = comms.map(() => new Float32Array(COUNT));
    await Promise.all(comms.map((comm, r) => comm.allReduce(host[r]!, host[r]!, COUNT, 'float32', 'sum')));
    const tuned = await within(Promise.all(comms.map((comm) => comm.tune({ warmCalls: 1, rounds: 2, blockSeconds: 0.002 }))), 60_000, 'tune');
    for (const mine of tuned) assert.equal(mine, tuned[0]);
    assert.equal(tuned[0]!.map((t) => t.memory), ['gpu', 'cpu']);
    for (const outcome of tuned[0]!) {
      assert.ok(outcome.seconds.length >= 2 && outcome.seconds.every((c) => c.seconds > 0), JSON.stringify(outcome));
      for (const comm of comms) {
        assert.is(chooseAlgorithm('allReduce', COUNT * 4, 3, comm.config, undefined, { dtype: 'float32', op: 'sum' }, undefined, outcome.memory).algorithm, outcome.algorithm);
      }
    }
    await gpuAllReduce(comms);
  } finally {
    await destroyWorld(comms);
  }
});

test.run();
