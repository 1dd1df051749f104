// webccl/tfjs on TF.js's webgpu backend in Node (Dawn; lavapipe here), on the communicators'
// own GPUDevice: buckets go to allReduce/broadcast as GPUBuffers (the spy sees no host array),
// including tensors TF.js still keeps on the CPU (uploaded first); the mean is exact at 2 ranks;
// a training step keeps ranks identical. Fails, never skips, without a WebGPU adapter.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allReduceGradients, broadcastVariables, DistributedOptimizer, setupTfjsWebgpu, sharesDevice } from '../lib/tfjs/index.node.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';
import { named, rankTensors, spy, tf, values } from './helpers/tfjs.js';

const device = await setupTfjsWebgpu();
const comms = await createWorld(2, { device });
const spies = comms.map(spy);

test('TF.js runs on webgpu, on the communicators\' device', () => {
  assert.is(tf.getBackend(), 'webgpu');
  assert.ok(comms.every(sharesDevice));
});

test('allReduceGradients on GPU buffers: exact mean on both ranks, single- and multi-tensor buckets, CPU-resident inputs uploaded', async () => {
  for (const s of spies) s.calls.length = 0;
  // tf.tensor(values) stays on the CPU until a kernel uses it: the buckets must upload them.
  const inputs = comms.map((_, r) => rankTensors(r, undefined, 1, true));
  const before = await Promise.all(inputs.map(values));
  const results = await Promise.all(comms.map((comm, r) => allReduceGradients(comm, named(inputs[r]!), { bucketBytes: 4 * 64 })));
  assert.equal(spies[0]!.calls, ['allGather:host:6', 'allReduce:gpu:63', 'allReduce:gpu:300']);
  const expected = before[0]!.map((t, i) => Float32Array.from(t, (v, j) => (v + before[1]![i]![j]!) / 2));
  for (const [r, result] of results.entries()) assert.equal(await values(Object.values(result)), expected, `rank ${r}`);
  tf.dispose([...results.flatMap((m) => Object.values(m)), ...inputs.flat()]);
});

test('GPU-resident gradients with a codec (bf16): identical on both ranks', async () => {
  const inputs = comms.map((_, r) => rankTensors(r).map((t) => tf.mul(t, 1)));
  const results = await Promise.all(comms.map((comm, r) => allReduceGradients(comm, inputs[r]!, { compression: 'bf16' })));
  assert.equal(await values(results[1]!), await values(results[0]!));
  tf.dispose([...results.flat(), ...inputs.flat()]);
});

test('broadcastVariables and DistributedOptimizer.step on webgpu keep ranks identical', async () => {
  for (const s of spies) s.calls.length = 0;
  const vars = comms.map((_, r) => [tf.variable(tf.randomNormal([8, 3], 0, 1, 'float32', r), true, `gw${r}`), tf.variable(tf.zeros([3]), true, `gb${r}`)] as const);
  await Promise.all(comms.map((comm, r) => broadcastVariables(comm, { w: vars[r]![0], b: vars[r]![1] })));
  assert.equal(spies[0]!.calls, ['allGather:host:6', 'broadcast:gpu:27']);
  const opts = comms.map((comm) => new DistributedOptimizer(comm, tf.train.sgd(0.05), { checkNames: false }));
  for (let step = 0; step < 3; step++) {
    const losses = await Promise.all(opts.map((opt, r) => opt.step(() => {
      const x = tf.randomNormal([4, 8], 0, 1, 'float32', 50 + r + step);
      return tf.mean(tf.square(tf.add(tf.matMul(x, vars[r]![0]), vars[r]![1]))) as tf.Scalar;
    }, [vars[r]![0], vars[r]![1]])));
    tf.dispose(losses);
  }
  assert.equal(await values([...vars[1]!]), await values([...vars[0]!]));
  tf.dispose(vars.flat());
});

test.after(async () => {
  await destroyWorld(comms);
});
test.run();
