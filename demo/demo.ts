// The browser demo's page script (bundled by build.mjs into dist/demo/demo.js, served by
// demo/serve.ts): take the next seat, start the training worker (dist/demo/train-worker.js) for
// it, and show what it reports: a live chart of loss and accuracy, the bytes sent per step, the
// codec and algorithm in use. Rank 0's selects choose the algorithm and codec for every rank.
// URL parameters: size (ranks, default 2), steps (0: until the tab closes), batch (per rank, 16),
// lr (0.1), hidden (64), eval (test accuracy every N steps, 10), backend (auto|webgpu|cpu),
// algo and codec (rank 0's initial choice). window.demo holds the state, for tests.
import { drawChart, type Point } from './chart.js';
import { takeSeat } from './join.js';
import { ALGORITHM_CHOICES, CODEC_CHOICES, type Controls, type FromWorker, type StepReport, type ToWorker } from './protocol.js';
import { show } from './view.js';

const JOIN_TIMEOUT_MS = 10 * 60_000; // people open the other tabs by hand

const query = new URLSearchParams(location.search);
function parameter(name: string, fallback: number): number {
  const value = Number(query.get(name) ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`URL parameter ${name}=${query.get(name)} is not a non-negative number`);
  return value;
}
function choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
  const value = query.get(name) ?? fallback;
  if (!choices.includes(value as T)) throw new Error(`URL parameter ${name}=${value} is not one of ${choices.join(', ')}`);
  return value as T;
}

/** What the page knows, for people (the fields) and for tests (window.demo). */
const state = {
  rank: -1,
  backend: '',
  reports: [] as StepReport[],
  done: false,
  error: '',
};
(globalThis as { demo?: typeof state }).demo = state;

function select(id: string): HTMLSelectElement {
  return document.getElementById(id) as HTMLSelectElement;
}

function fillSelect(element: HTMLSelectElement, options: readonly string[], value: string): void {
  element.replaceChildren(...options.map((o) => new Option(o, o, o === value, o === value)));
}

const kib = (bytes: number) => (bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`);

async function main(): Promise<void> {
  const size = Math.max(1, Math.floor(parameter('size', 2)));
  const settings = {
    batch: Math.max(1, Math.floor(parameter('batch', 16))), lr: parameter('lr', 0.1), hidden: Math.max(1, Math.floor(parameter('hidden', 64))),
    steps: Math.floor(parameter('steps', 0)), evalEvery: Math.max(1, Math.floor(parameter('eval', 10))),
    backend: choice('backend', ['auto', 'webgpu', 'cpu'] as const, 'auto'),
  };
  const algorithm = select('algorithm-choice');
  const codec = select('codec-choice');
  const asked = choice('algo', ALGORITHM_CHOICES, 'ring');
  fillSelect(codec, CODEC_CHOICES, choice('codec', CODEC_CHOICES, 'none'));
  const controls = (): Controls => ({ algorithm: algorithm.value as Controls['algorithm'], codec: codec.value as Controls['codec'] });

  const seat = await takeSeat(size, JOIN_TIMEOUT_MS);
  // Switch allreduce only where the server hosts a switch (the tabs reach it through its WebSocket door).
  const algorithms = ALGORITHM_CHOICES.filter((a) => a !== 'switch' || seat.hostsSwitch);
  if (!algorithms.includes(asked)) throw new Error(`URL parameter algo=${asked}: this demo server hosts no switch (npm run demo -- --switch)`);
  fillSelect(algorithm, algorithms, asked);
  state.rank = seat.rank;
  show('rank', `${seat.rank} of ${size}`);
  document.title = `webccl MNIST, rank ${seat.rank}/${size}`;
  const leads = seat.rank === 0;
  algorithm.disabled = codec.disabled = !leads;
  document.getElementById('controls-note')!.textContent = leads ? 'this tab is rank 0: its choice holds for every rank' : "rank 0's choice holds here";

  const worker = new Worker('/train-worker.js', { type: 'module' });
  const tell = (message: ToWorker) => worker.postMessage(message);
  const sendControls = () => tell({ type: 'controls', controls: controls() });
  algorithm.onchange = codec.onchange = sendControls;

  const canvas = document.getElementById('chart') as HTMLCanvasElement;
  const loss: Point[] = [];
  const accuracy: Point[] = [];
  let float32Bytes = 0;
  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    const message = event.data;
    switch (message.type) {
      case 'status': return show('status', message.text);
      case 'ready':
        state.backend = message.backend;
        float32Bytes = message.float32Bytes;
        show('backend', `TF.js ${message.backend}; ${message.adapter}; ${message.params.toLocaleString('en')} parameters; ${message.transport}`);
        return show('status', 'training');
      case 'step': {
        const r = message.report;
        state.reports.push(r);
        loss.push({ step: r.step, value: r.loss });
        if (r.accuracy !== undefined) accuracy.push({ step: r.step, value: r.accuracy });
        show('step', String(r.step));
        show('loss', r.loss.toFixed(4));
        if (r.accuracy !== undefined) show('accuracy', `${(100 * r.accuracy).toFixed(1)}% (step ${r.step})`);
        show('bytes', r.controls.algorithm === 'switch'
          ? `${kib(r.bytes)} to peers; the gradients go to the switch as SwitchML int32 packets (about 1× the float32 gradients, codec unused)`
          : `${kib(r.bytes)} (${float32Bytes ? (r.bytes / float32Bytes).toFixed(2) : '?'}× the float32 gradients)`);
        show('codec', r.controls.codec);
        show('algorithm', r.controls.algorithm);
        show('time', `${r.ms.toFixed(1)} ms`);
        show('checksum', r.checksum);
        if (!leads) { algorithm.value = r.controls.algorithm; codec.value = r.controls.codec; }
        return drawChart(canvas, loss, accuracy);
      }
      case 'done':
        state.done = true;
        return show('status', `done: ${message.steps} steps`, 'ok');
      case 'error':
        state.error = message.message;
        return show('status', message.message, 'bad');
    }
  };
  worker.onerror = (event) => {
    state.error = event.message || 'the training worker failed to start';
    show('status', state.error, 'bad');
  };
  tell({ type: 'start', seat, settings, controls: controls(), joinTimeoutMs: JOIN_TIMEOUT_MS });
}

main().catch((error: Error) => {
  state.error = error.message;
  show('status', error.message, 'bad');
  console.error(error);
});
