// The MNIST model and the step helpers examples/mnist/train.ts and the browser demo's worker
// (demo/train-worker.ts) share: platform-neutral (TF.js core and layers only, no Node module).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { PIXELS, type Dataset } from './order.js';

export interface Mlp {
  readonly model: tfl.Sequential;
  /** The trainable variables, in layer order (what the optimizer steps and the checksum covers). */
  readonly variables: tf.Variable[];
  readonly params: number;
}

/** A 784-hidden-10 MLP, seeded so that every rank starts from the same weights even before a broadcast. */
export function mlp(hidden: number, seed: number): Mlp {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [PIXELS], units: hidden, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed }) }),
      tfl.layers.dense({ units: 10, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return { model, variables, params: variables.reduce((n, v) => n + v.size, 0) };
}

/** Digits order[from..from+count) of `set` as a batch: images and one-hot labels. */
export function batchOf(set: Dataset, order: Int32Array, from: number, count: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const images = new Float32Array(count * PIXELS);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const k = order[from + i]!;
    images.set(set.images.subarray(k * PIXELS, (k + 1) * PIXELS), i * PIXELS);
    labels[i] = set.labels[k]!;
  }
  return tf.tidy(() => ({ x: tf.tensor2d(images, [count, PIXELS]), y: tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32') as tf.Tensor2D }));
}

/** The softmax cross-entropy of `model` on a batch (for optimizer.step). */
export function lossOf(model: tfl.Sequential, x: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar;
}

/** FNV-1a over the weights' bytes: equal on every rank iff every bit is. */
export async function checksum(variables: readonly tf.Variable[]): Promise<number> {
  let hash = 0x811c9dc5;
  for (const v of variables) for (const word of new Uint32Array((await v.data() as Float32Array).slice().buffer)) hash = Math.imul(hash ^ word, 16777619) >>> 0;
  return hash;
}

/** The fraction of `set` the model labels right. */
export async function accuracy(model: tfl.Sequential, set: Dataset): Promise<number> {
  // data(), not dataSync(): the webgpu backend cannot read synchronously outside a browser.
  const argmax = tf.tidy(() => tf.argMax(model.predict(tf.tensor2d(set.images, [set.count, PIXELS])) as tf.Tensor, -1));
  const predicted = Array.from(await argmax.data());
  argmax.dispose();
  return predicted.reduce((n, p, i) => n + (p === set.labels[i] ? 1 : 0), 0) / set.count;
}
