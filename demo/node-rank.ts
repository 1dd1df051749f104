// A Node process as one more rank of the browser demo: it takes the next seat from the demo
// server exactly as a tab does (so open size - 1 tabs and run this once, in any order), loads
// the same /mnist.bin, joins the tabs' relay world and runs the same loop (train-loop.ts) on
// TF.js's CPU backend with TypedArray allreduce, printing each step. Rank 0's controls and step
// limit hold, as for a tab; as rank 0 it uses --algo, --codec and --steps.
//
//   node --import ./test/register.mjs demo/node-rank.ts --url http://127.0.0.1:PORT --size 3
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { parseArgs } from 'node:util';
import { Communicator, connectRelay, nodeWebSocket } from '../lib/index.node.js';
import { takeSeat } from './join.js';
import { decodeMnist } from './mnist-wire.js';
import { ALGORITHM_CHOICES, CODEC_CHOICES, type Controls } from './protocol.js';
import { trainRank } from './train-loop.js';

const JOIN_TIMEOUT_MS = 10 * 60_000;

const { values } = parseArgs({
  options: {
    url: { type: 'string' }, size: { type: 'string', default: '2' }, steps: { type: 'string', default: '0' },
    batch: { type: 'string', default: '16' }, lr: { type: 'string', default: '0.1' }, hidden: { type: 'string', default: '64' },
    eval: { type: 'string', default: '10' }, algo: { type: 'string', default: 'ring' }, codec: { type: 'string', default: 'none' },
  },
});
if (!values.url) throw new Error('--url http://127.0.0.1:PORT (what npm run demo printed) is required');
const origin = new URL(values.url).origin;
const size = Number(values.size);
if (!Number.isInteger(size) || size < 1) throw new Error(`--size ${values.size} is not a positive integer`);
if (!(ALGORITHM_CHOICES as readonly string[]).includes(values.algo!)) throw new Error(`--algo is one of ${ALGORITHM_CHOICES.join(', ')}`);
if (!(CODEC_CHOICES as readonly string[]).includes(values.codec!)) throw new Error(`--codec is one of ${CODEC_CHOICES.join(', ')}`);
const controls = { algorithm: values.algo, codec: values.codec } as Controls;
const settings = {
  steps: Number(values.steps), batch: Number(values.batch), lr: Number(values.lr), hidden: Number(values.hidden),
  evalEvery: Math.max(1, Number(values.eval)), backend: 'cpu' as const,
};

const WebSocket = nodeWebSocket();
const seat = await takeSeat(size, JOIN_TIMEOUT_MS, { origin, WebSocket });
const response = await fetch(`${origin}/mnist.bin`);
if (!response.ok) throw new Error(`GET /mnist.bin: ${response.status}`);
const data = decodeMnist(new Uint8Array(await response.arrayBuffer()));
await tf.setBackend('cpu');
console.log(`rank ${seat.rank} of ${size} (Node, TF.js cpu): waiting for the other ranks in world ${seat.world}`);
const transport = await connectRelay({ id: seat.id, rank: seat.rank, size, world: seat.world, WebSocket, timeoutMs: JOIN_TIMEOUT_MS });
const comm = await Communicator.init({ rank: seat.rank, size, transport });
try {
  const steps = await trainRank(comm, data, settings, {
    controls: () => controls,
    ready: (params) => console.log(`training: ${params} parameters on ${comm.transport.description}`),
    report: (r) => console.log(`step ${r.step}: loss ${r.loss.toFixed(4)}${r.accuracy === undefined ? '' : `, test accuracy ${(100 * r.accuracy).toFixed(1)}%`}, ` +
      `${r.bytes} B sent (${r.controls.algorithm}, ${r.controls.codec}), weights ${r.checksum}`),
  });
  console.log(`done: ${steps} steps`);
} finally {
  await comm.destroy();
  await transport.close();
}
process.exit(0);
