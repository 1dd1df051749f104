// broadcastVariables makes every rank's variables the root's (bit for bit); DistributedOptimizer
// steps every rank with the mean gradient, so ranks that start equal stay equal, and it equals
// one optimizer stepped on the mean by hand; the model.fit adapter (fitOptimizer + fitCallback)
// keeps two ranks' models identical through fit on different data.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { broadcastVariables } from '../lib/tfjs/broadcast.js';
import { DistributedOptimizer } from '../lib/tfjs/optimizer.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';
import { rankTensors, tf, values } from './helpers/tfjs.js';

await tf.setBackend('cpu');

test('broadcastVariables from root 1 over 3 ranks (two buckets): every rank holds root 1\'s values exactly', async () => {
  const comms = await createWorld(3);
  try {
    const vars = comms.map((_, r) => rankTensors(r).map((t, i) => tf.variable(t, true, `bcast_${r}_${i}`)));
    const root = await values(vars[1]!);
    await Promise.all(comms.map((comm, r) => broadcastVariables(comm, Object.fromEntries(vars[r]!.map((v, i) => [`v${i}`, v])), 1, { bucketBytes: 4 * 64 })));
    for (const [r, list] of vars.entries()) assert.equal(await values(list), root, `rank ${r}`);
    tf.dispose(vars.flat());
  } finally {
    await destroyWorld(comms);
  }
});

/** A linear model y = x·w + b on rank-specific data, as variables named per rank (one process). */
function linearRank(rank: number, init: { w: tf.Tensor; b: tf.Tensor }) {
  const w = tf.variable(init.w.clone(), true, `lin_w_${rank}_${Math.random()}`);
  const b = tf.variable(init.b.clone(), true, `lin_b_${rank}_${Math.random()}`);
  const x = tf.randomNormal([16, 4], 0, 1, 'float32', 100 + rank);
  const y = tf.randomNormal([16, 1], 0, 1, 'float32', 200 + rank);
  const loss = () => tf.losses.meanSquaredError(y, tf.add(tf.matMul(x, w), b)) as tf.Scalar;
  return { w, b, x, y, loss };
}

test('DistributedOptimizer.step: 2 ranks on different data stay identical and match SGD on the mean gradient', async () => {
  const comms = await createWorld(2);
  try {
    const init = { w: tf.randomNormal([4, 1], 0, 1, 'float32', 7), b: tf.zeros([1]) };
    const ranks = comms.map((_, r) => linearRank(r, init));
    const reference = linearRank(9, init);
    const optimizers = comms.map((comm) => new DistributedOptimizer(comm, tf.train.sgd(0.1), { checkNames: false }));
    const referenceOptimizer = tf.train.sgd(0.1);
    for (let step = 0; step < 5; step++) {
      // The reference: mean of both ranks' gradients, taken on their (still equal) weights.
      const grads = ranks.map((rank) => tf.variableGrads(rank.loss, [rank.w, rank.b]).grads);
      referenceOptimizer.applyGradients({ [reference.w.name]: tf.div(tf.add(grads[0]![ranks[0]!.w.name]!, grads[1]![ranks[1]!.w.name]!), 2), [reference.b.name]: tf.div(tf.add(grads[0]![ranks[0]!.b.name]!, grads[1]![ranks[1]!.b.name]!), 2) });
      tf.dispose(grads);
      const losses = await Promise.all(optimizers.map((opt, r) => opt.step(ranks[r]!.loss, [ranks[r]!.w, ranks[r]!.b])));
      assert.ok(losses.every((l) => Number.isFinite(l.dataSync()[0])));
      tf.dispose(losses);
    }
    assert.equal(await values([ranks[1]!.w, ranks[1]!.b]), await values([ranks[0]!.w, ranks[0]!.b]), 'ranks diverged');
    const [w, ref] = [await values([ranks[0]!.w]), await values([reference.w])];
    w[0]!.forEach((v, i) => assert.ok(Math.abs(v - ref[0]![i]!) < 1e-6, `w[${i}] ${v} vs ${ref[0]![i]}`));
  } finally {
    await destroyWorld(comms);
  }
});

test('model.fit with fitOptimizer()/fitCallback(): 2 ranks fit on different data and end with identical weights', async () => {
  const comms = await createWorld(2);
  try {
    const models = comms.map(() => {
      const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }), tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })] });
      return model;
    });
    const dist = comms.map((comm) => new DistributedOptimizer(comm, tf.train.adam(0.01), { checkNames: false }));
    models.forEach((model, r) => model.compile({ optimizer: dist[r]!.fitOptimizer(), loss: 'meanSquaredError' }));
    assert.equal(await values(models[1]!.getWeights()), await values(models[0]!.getWeights()), 'seeded initial weights differ');
    const before = await values(models[0]!.getWeights());
    await Promise.all(models.map((model, r) => model.fit(
      tf.randomNormal([32, 4], 0, 1, 'float32', 10 + r), tf.randomNormal([32, 1], 0, 1, 'float32', 20 + r),
      { batchSize: 8, epochs: 2, shuffle: false, verbose: 0, callbacks: [dist[r]!.fitCallback()] },
    )));
    const after = await Promise.all(models.map((m) => values(m.getWeights())));
    assert.equal(after[1], after[0], 'ranks diverged under fit');
    assert.not.equal(after[0], before, 'fit changed nothing');
  } finally {
    await destroyWorld(comms);
  }
});

test.run();
