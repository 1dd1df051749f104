// One demo rank's training, wherever it runs (the page's worker, demo/train-worker.ts, or a Node
// process, demo/node-rank.ts): the MLP of examples/mnist trained data-parallel with webccl/tfjs
// on a communicator that is already up. Before every step rank 0 broadcasts its controls and
// whether to go on, so every rank makes the same calls and stops at the same step: only rank 0's
// controls and step limit count. Platform-neutral.
import * as tf from '@tensorflow/tfjs-core';
import type { Communicator } from '../lib/index.core.js';
import { broadcastVariables, DistributedOptimizer } from '../lib/tfjs/api.js';
import { shuffled } from '../examples/mnist/order.js';
import { accuracy, batchOf, checksum, lossOf, mlp } from '../examples/mnist/model.js';
import { meterAllReduceBytes } from '../examples/mnist/wire-meter.js';
import type { MnistSplit } from './mnist-wire.js';
import { ALGORITHM_CHOICES, CODEC_CHOICES, type Controls, type StepReport, type TrainSettings } from './protocol.js';

const SEED = 1;

export interface LoopHooks {
  /** This rank's wish for the next step (only rank 0's is used). */
  controls(): Controls;
  /** Called once the weights are broadcast from rank 0. */
  ready(params: number): void;
  report(report: StepReport): void;
}

/** Rank 0's controls for the next step and whether there is one: three int32s, broadcast. */
async function agree(comm: Communicator, wanted: Controls, goOn: boolean): Promise<Controls | null> {
  const word = Int32Array.of(ALGORITHM_CHOICES.indexOf(wanted.algorithm), CODEC_CHOICES.indexOf(wanted.codec), goOn ? 1 : 0);
  await comm.broadcast(comm.rank === 0 ? word : null, word, 3, 'int32', 0);
  if (word[2] === 0) return null;
  return { algorithm: ALGORITHM_CHOICES[word[0]!] ?? 'ring', codec: CODEC_CHOICES[word[1]!] ?? 'none' };
}

/** Trains until rank 0 stops (after its settings.steps; never when 0) and returns the steps run. */
export async function trainRank(comm: Communicator, data: MnistSplit, settings: TrainSettings, hooks: LoopHooks): Promise<number> {
  const { model, variables, params } = mlp(settings.hidden, SEED);
  await broadcastVariables(comm, variables, 0);
  hooks.ready(params);
  const meter = meterAllReduceBytes(comm);

  // One wrapper per (algorithm, codec): each keeps its own error-feedback residuals (onebit).
  const sgd = tf.train.sgd(settings.lr);
  const optimizers = new Map<string, DistributedOptimizer>();
  const optimizerFor = ({ algorithm, codec }: Controls) => {
    const key = `${algorithm}/${codec}`;
    // The switch quantizes with SwitchML itself and takes no codec.
    if (!optimizers.has(key)) optimizers.set(key, new DistributedOptimizer(comm, sgd, { algorithm, compression: algorithm === 'switch' ? 'none' : codec }));
    return optimizers.get(key)!;
  };

  // As examples/mnist/train.ts: epoch e's order is seeded by e, rank r takes the r-th slice of each global batch.
  const globalBatch = settings.batch * comm.size;
  const stepsPerEpoch = Math.floor(data.train.count / globalBatch);
  let order = shuffled(data.train.count, SEED * 1000 + 1);
  let step = 0;
  for (;;) {
    const controls = await agree(comm, hooks.controls(), settings.steps === 0 || step < settings.steps);
    if (!controls) return step;
    const t = step % stepsPerEpoch;
    if (t === 0 && step > 0) order = shuffled(data.train.count, SEED * 1000 + 1 + step / stepsPerEpoch);
    step++;
    const { x, y } = batchOf(data.train, order, t * globalBatch + comm.rank * settings.batch, settings.batch);
    const begun = performance.now();
    meter.start();
    const loss = await optimizerFor(controls).step(() => lossOf(model, x, y), variables);
    const bytes = meter.stop();
    const ms = performance.now() - begun;
    const mean = Float32Array.of((await loss.data())[0]!);
    tf.dispose([x, y, loss]);
    await comm.allReduce(mean, mean, 1, 'float32', 'avg');
    const measure = step === 1 || step % settings.evalEvery === 0 || step === settings.steps;
    hooks.report({
      step, loss: mean[0]!, bytes, ms, controls,
      ...(measure && { accuracy: await accuracy(model, data.test) }),
      checksum: (await checksum(variables)).toString(16).padStart(8, '0'),
    });
  }
}
