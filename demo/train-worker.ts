// The demo's training loop, in a dedicated worker (bundled into dist/demo/train-worker.js): a
// background tab throttles its page's timers, not its workers, so a hidden tab keeps its ranks'
// steps going. Each worker is one rank: it loads MNIST from the server, joins the relay world
// its page was seated in, and trains the shared MLP data-parallel with webccl/tfjs, reporting
// every step to the page. TF.js runs on WebGPU (navigator.gpu exists in workers) on the
// communicator's device, else on its CPU backend with TypedArray allreduce (backend 'auto').
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Communicator, connectRelay } from '../lib/index.browser.js';
import { broadcastVariables, DistributedOptimizer, setupTfjsWebgpu } from '../lib/tfjs/index.browser.js';
import { shuffled } from '../examples/mnist/order.js';
import { accuracy, batchOf, checksum, lossOf, mlp } from '../examples/mnist/model.js';
import { meterAllReduceBytes } from '../examples/mnist/wire-meter.js';
import { decodeMnist } from './mnist-wire.js';
import { ALGORITHM_CHOICES, CODEC_CHOICES, type Controls, type FromWorker, type ToWorker, type TrainSettings } from './protocol.js';

const SEED = 1;
const post = (message: FromWorker) => (self as unknown as Worker).postMessage(message);

let wanted: Controls = { algorithm: 'ring', codec: 'none' };
let started = false;

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === 'controls') wanted = message.controls;
  else if (!started) {
    started = true;
    wanted = message.controls;
    train(message).catch((error: Error) => {
      console.error(error);
      post({ type: 'error', message: error.message });
    });
  }
};

/** TF.js on WebGPU sharing the communicator's device, or on its CPU backend (then the communicator has no device). */
async function startBackend(choice: TrainSettings['backend']): Promise<{ device?: GPUDevice; backend: string; adapter: string }> {
  if (choice !== 'cpu') {
    try {
      const device = await setupTfjsWebgpu();
      const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
      return { device, backend: 'webgpu', adapter: [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'unknown' };
    } catch (error) {
      if (choice === 'webgpu') throw error;
      post({ type: 'status', text: `TF.js webgpu backend failed (${(error as Error).message}); using its CPU backend` });
    }
  }
  await tf.setBackend('cpu');
  return { backend: choice === 'cpu' ? 'cpu' : 'cpu (webgpu fallback)', adapter: 'none: TypedArray allreduce' };
}

/** Rank 0's controls for this step: its own choice, broadcast (two int32 indices) so that every rank runs the same call. */
async function agreedControls(comm: Communicator): Promise<Controls> {
  const choice = Int32Array.of(ALGORITHM_CHOICES.indexOf(wanted.algorithm), CODEC_CHOICES.indexOf(wanted.codec));
  await comm.broadcast(comm.rank === 0 ? choice : null, choice, 2, 'int32', 0);
  return { algorithm: ALGORITHM_CHOICES[choice[0]!] ?? 'ring', codec: CODEC_CHOICES[choice[1]!] ?? 'none' };
}

async function train({ seat, settings, joinTimeoutMs }: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  post({ type: 'status', text: 'loading MNIST' });
  const response = await fetch('/mnist.bin');
  if (!response.ok) throw new Error(`GET /mnist.bin: ${response.status}`);
  const data = decodeMnist(new Uint8Array(await response.arrayBuffer()));

  post({ type: 'status', text: 'starting TF.js' });
  const { device, backend, adapter } = await startBackend(settings.backend);
  post({ type: 'status', text: seat.size > 1 ? `waiting for all ${seat.size} ranks` : 'connecting' });
  const transport = await connectRelay({ id: seat.id, rank: seat.rank, size: seat.size, world: seat.world, timeoutMs: joinTimeoutMs });
  const comm = await Communicator.init({ rank: seat.rank, size: seat.size, transport, ...(device && { device }) });
  const meter = meterAllReduceBytes(comm);

  const { model, variables, params } = mlp(settings.hidden, SEED);
  await broadcastVariables(comm, variables, 0);
  post({ type: 'ready', backend, adapter, params, float32Bytes: params * 4, transport: comm.transport.description });

  // One wrapper per (algorithm, codec): each keeps its own error-feedback residuals (onebit).
  const sgd = tf.train.sgd(settings.lr);
  const optimizers = new Map<string, DistributedOptimizer>();
  const optimizerFor = ({ algorithm, codec }: Controls) => {
    const key = `${algorithm}/${codec}`;
    if (!optimizers.has(key)) optimizers.set(key, new DistributedOptimizer(comm, sgd, { algorithm, compression: codec }));
    return optimizers.get(key)!;
  };

  const globalBatch = settings.batch * seat.size;
  const stepsPerEpoch = Math.floor(data.train.count / globalBatch);
  let order = shuffled(data.train.count, SEED * 1000 + 1);
  for (let step = 1; settings.steps === 0 || step <= settings.steps; step++) {
    const t = (step - 1) % stepsPerEpoch;
    if (t === 0 && step > 1) order = shuffled(data.train.count, SEED * 1000 + 1 + Math.floor((step - 1) / stepsPerEpoch));
    const controls = await agreedControls(comm);
    const { x, y } = batchOf(data.train, order, t * globalBatch + seat.rank * settings.batch, settings.batch);
    const begun = performance.now();
    meter.start();
    const loss = await optimizerFor(controls).step(() => lossOf(model, x, y), variables);
    const bytes = meter.stop();
    const ms = performance.now() - begun;
    const mean = Float32Array.of((await loss.data())[0]!);
    tf.dispose([x, y, loss]);
    await comm.allReduce(mean, mean, 1, 'float32', 'avg');
    const measure = step === 1 || step % settings.evalEvery === 0 || step === settings.steps;
    post({
      type: 'step',
      report: {
        step, loss: mean[0]!, bytes, ms, controls,
        ...(measure && { accuracy: await accuracy(model, data.test) }),
        checksum: (await checksum(variables)).toString(16).padStart(8, '0'),
      },
    });
  }
  await comm.destroy();
  await transport.close();
  post({ type: 'done', steps: settings.steps });
}
