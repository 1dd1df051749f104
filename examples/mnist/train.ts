// Data-parallel MNIST with webccl/tfjs: each rank trains a small MLP on its shard of every
// global batch, gradients are averaged with allReduceGradients (optionally compressed), and
// every few steps the ranks compare a checksum of their weights over the communicator.
//
//   npm run build && npx webccl-run -np 4 examples/mnist/train.ts --batch 16 --codec int8
//
// Flags (defaults): --train 4000 --test 1000 --epochs 2 --batch 16 (per rank) --lr 0.1
// --hidden 64 --codec none --check-every 10 --backend cpu|webgpu --max-steps N --out FILE.json
// With N ranks at batch b, step t's global batch is the same N·b digits a 1-rank run at batch
// N·b takes at step t (one seeded order per epoch, rank r takes the r-th slice of b), so the
// two runs are the same optimisation and their accuracy should agree.
// In your own project import from 'webccl' and 'webccl/tfjs' instead of the lib/ paths.
import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import { Communicator } from '../../lib/index.node.js';
import { broadcastVariables, DistributedOptimizer, setupTfjsWebgpu } from '../../lib/tfjs/index.node.js';
import { loadMnist, shuffled } from './data.js';
import { accuracy, batchOf, checksum as weightsChecksum, lossOf, mlp } from './model.js';
import { meterAllReduceBytes } from './wire-meter.js';

function flags(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i]!.startsWith('--') || argv[i + 1] === undefined) throw new Error(`usage: --name value pairs (at ${argv[i]})`);
    out.set(argv[i]!.slice(2), argv[i + 1]!);
  }
  return out;
}
const args = flags(process.argv.slice(2));
const num = (name: string, fallback: number) => Number(args.get(name) ?? fallback);
const config = {
  train: num('train', 4000), test: num('test', 1000), epochs: num('epochs', 2), batch: num('batch', 16), lr: num('lr', 0.1),
  hidden: num('hidden', 64), codec: args.get('codec') ?? 'none', checkEvery: num('check-every', 10),
  backend: args.get('backend') ?? 'cpu', maxSteps: num('max-steps', Infinity), seed: num('seed', 1),
};

const device = config.backend === 'webgpu' ? await setupTfjsWebgpu() : undefined;
if (!device) await tf.setBackend('cpu');
const comm = await Communicator.fromEnv(device ? { device } : {});
const log = (line: string) => { if (comm.rank === 0) console.log(line); };

// Bytes this rank puts on the wire for gradient allreduces (counted while a step runs).
const meter = meterAllReduceBytes(comm);

const data = loadMnist(config.train, config.test, config.seed);
const { model, variables, params } = mlp(config.hidden, config.seed);
await broadcastVariables(comm, variables, 0);
const optimizer = new DistributedOptimizer(comm, tf.train.sgd(config.lr), { compression: config.codec });
log(`mnist: ${comm.size} ranks, ${params} parameters, ${config.train} training / ${config.test} test digits, batch ${config.batch} per rank (${config.batch * comm.size} global), codec ${config.codec}, TF.js ${tf.getBackend()} on ${comm.transport.description}`);

const checksum = () => weightsChecksum(variables);

async function checkIdentical(step: number): Promise<void> {
  const all = new Uint32Array(comm.size);
  await comm.allGather(Uint32Array.of(await checksum()), all, 1, 'uint32');
  if (all.some((h) => h !== all[0])) throw new Error(`step ${step}: weights differ between ranks (checksums ${[...all].map((h) => h.toString(16)).join(' ')})`);
  log(`step ${step}: weights identical on all ${comm.size} ranks (checksum ${all[0]!.toString(16).padStart(8, '0')})`);
}

const globalBatch = config.batch * comm.size;
const stepsPerEpoch = Math.floor(data.train.count / globalBatch);
const losses: number[] = [];
const stepMs: number[] = [];
const wirePerStep: number[] = [];
const epochs: { epoch: number; testAccuracy: number }[] = [];
let step = 0;
for (let epoch = 1; epoch <= config.epochs && step < config.maxSteps; epoch++) {
  const order = shuffled(data.train.count, config.seed * 1000 + epoch);
  for (let t = 0; t < stepsPerEpoch && step < config.maxSteps; t++, step++) {
    const { x, y } = batchOf(data.train, order, t * globalBatch + comm.rank * config.batch, config.batch);
    meter.start();
    const started = performance.now();
    const loss = await optimizer.step(() => lossOf(model, x, y), variables);
    stepMs.push(performance.now() - started);
    const wireBytes = meter.stop();
    wirePerStep.push(wireBytes);
    const mean = Float32Array.of((await loss.data())[0]!);
    await comm.allReduce(mean, mean, 1, 'float32', 'avg');
    losses.push(mean[0]!);
    tf.dispose([x, y, loss]);
    log(`epoch ${epoch} step ${step + 1}: loss ${mean[0]!.toFixed(4)} (${stepMs[stepMs.length - 1]!.toFixed(1)} ms, ${wireBytes} B sent)`);
    if ((step + 1) % config.checkEvery === 0) await checkIdentical(step + 1);
  }
  const testAccuracy = await accuracy(model, data.test);
  epochs.push({ epoch, testAccuracy });
  log(`epoch ${epoch}: test accuracy ${(100 * testAccuracy).toFixed(2)}%`);
}
await checkIdentical(step);

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)]! : 0; };
const result = {
  config: { ...config, maxSteps: Number.isFinite(config.maxSteps) ? config.maxSteps : null, ranks: comm.size, transport: comm.transport.description },
  params, steps: step, losses, epochs,
  medianStepMs: median(stepMs.slice(Math.min(5, stepMs.length - 1))),
  wireBytesPerStep: median(wirePerStep), float32GradientBytes: params * 4,
  finalChecksum: (await checksum()).toString(16).padStart(8, '0'),
};
const out = args.get('out');
if (out && comm.rank === 0) writeFileSync(out, JSON.stringify(result, null, 1));
log(`done: ${step} steps, median ${result.medianStepMs.toFixed(1)} ms per step, ${result.wireBytesPerStep} B sent per step by rank 0, final test accuracy ${(100 * (epochs.at(-1)?.testAccuracy ?? 0)).toFixed(2)}%`);
await comm.destroy();
process.exit(0);
