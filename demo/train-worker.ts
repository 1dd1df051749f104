// The demo's training, in a dedicated worker (bundled into dist/demo/train-worker.js): a
// background tab throttles its page's timers, not its workers, so a hidden tab keeps its rank's
// steps going. Each worker is one rank: it loads MNIST from the server, joins the relay world
// its page was seated in, and runs train-loop.ts, reporting every step to the page. TF.js runs
// on WebGPU (navigator.gpu exists in workers) on the communicator's device, else on its CPU
// backend with TypedArray allreduce (backend 'auto' falls back; 'webgpu' and 'cpu' insist).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Communicator, connectRelay } from '../lib/index.browser.js';
import { setupTfjsWebgpu } from '../lib/tfjs/index.browser.js';
import { decodeMnist } from './mnist-wire.js';
import type { Controls, FromWorker, ToWorker, TrainSettings } from './protocol.js';
import { trainRank } from './train-loop.js';

const post = (message: FromWorker) => (self as unknown as Worker).postMessage(message);

let wanted: Controls = { algorithm: 'ring', codec: 'none' };
let started = false;

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === 'controls') wanted = message.controls;
  else if (!started) {
    started = true;
    wanted = message.controls;
    run(message).catch((error: Error) => {
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
  return { backend: choice === 'cpu' ? 'cpu' : 'cpu (webgpu fallback)', adapter: 'no GPU: TypedArray allreduce' };
}

async function run({ seat, settings, joinTimeoutMs }: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  post({ type: 'status', text: 'loading MNIST' });
  const response = await fetch('/mnist.bin');
  if (!response.ok) throw new Error(`GET /mnist.bin: ${response.status}`);
  const data = decodeMnist(new Uint8Array(await response.arrayBuffer()));

  post({ type: 'status', text: 'starting TF.js' });
  const { device, backend, adapter } = await startBackend(settings.backend);
  post({ type: 'status', text: seat.size > 1 ? `waiting for all ${seat.size} ranks` : 'connecting' });
  const transport = await connectRelay({ id: seat.id, rank: seat.rank, size: seat.size, world: seat.world, timeoutMs: joinTimeoutMs });
  const comm = await Communicator.init({ rank: seat.rank, size: seat.size, transport, ...(device && { device }) });
  try {
    const steps = await trainRank(comm, data, settings, {
      controls: () => wanted,
      ready: (params) => post({ type: 'ready', backend, adapter, params, float32Bytes: params * 4, transport: comm.transport.description }),
      report: (report) => post({ type: 'step', report }),
    });
    post({ type: 'done', steps });
  } finally {
    await comm.destroy();
    await transport.close();
  }
}
