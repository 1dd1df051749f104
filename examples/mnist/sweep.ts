// Runs examples/mnist/train.ts under webccl-run for 1, 2 and 4 ranks (same global batch) and for
// each codec at 4 ranks, then writes results.json, loss.svg (loss against step, a moving average
// of 10 steps) and the README's table (results.md) into --dir (default examples/mnist/results).
//
//   node --import ./test/register.mjs examples/mnist/sweep.ts [--train 8000 --epochs 2 --global-batch 64]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linePlot } from './svg-plot.js';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1]! : fallback; };
const dir = flag('dir', 'examples/mnist/results');
const train = flag('train', '8000');
const epochs = flag('epochs', '2');
const globalBatch = Number(flag('global-batch', '64'));
const backend = flag('backend', 'cpu');
mkdirSync(dir, { recursive: true });

interface Run { ranks: number; codec: string }
const runs: Run[] = [
  { ranks: 1, codec: 'none' }, { ranks: 2, codec: 'none' }, { ranks: 4, codec: 'none' },
  { ranks: 4, codec: 'bf16' }, { ranks: 4, codec: 'int8' }, { ranks: 4, codec: 'onebit' },
];

interface Result {
  config: { ranks: number; codec: string; batch: number };
  params: number; steps: number; losses: number[]; epochs: { epoch: number; testAccuracy: number }[];
  medianStepMs: number; wireBytesPerStep: number; float32GradientBytes: number;
}

const results: Result[] = [];
for (const { ranks, codec } of runs) {
  const out = join(tmpdir(), `webccl-mnist-${process.pid}-${ranks}-${codec}.json`);
  const batch = String(globalBatch / ranks);
  const command = ['--import', './test/register.mjs', 'bin/webccl-run.ts', '-np', String(ranks), 'examples/mnist/train.ts',
    '--train', train, '--epochs', epochs, '--batch', batch, '--codec', codec, '--backend', backend, '--out', out];
  console.log(`node ${command.join(' ')}`);
  const run = spawnSync(process.execPath, command, { encoding: 'utf8', timeout: 900_000 });
  const done = run.stdout.split('\n').filter((l) => /test accuracy|done:/.test(l));
  console.log(done.join('\n'));
  if (run.status !== 0) throw new Error(`run failed (${ranks} ranks, ${codec}):\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`);
  results.push(JSON.parse(readFileSync(out, 'utf8')) as Result);
}

const label = (r: Result) => `${r.config.ranks} rank${r.config.ranks > 1 ? 's' : ''} × ${r.config.batch}, ${r.config.codec}`;
const smooth = (xs: number[], w = 10) => xs.map((_, i) => { const s = xs.slice(Math.max(0, i - w + 1), i + 1); return s.reduce((a, b) => a + b, 0) / s.length; });
writeFileSync(join(dir, 'loss.svg'), linePlot(results.map((r) => ({ name: label(r), points: smooth(r.losses).map((y, i) => [i + 1, y] as const) })), {
  title: `MNIST MLP, data-parallel with webccl/tfjs (global batch ${globalBatch})`, xLabel: 'step', yLabel: 'training loss (moving average of 10 steps)',
}));

const one = results[0]!;
const noneAt = (ranks: number) => results.find((r) => r.config.ranks === ranks && r.config.codec === 'none')!;
const acc = (r: Result) => 100 * r.epochs.at(-1)!.testAccuracy;
const rows = results.map((r) => {
  const base = noneAt(r.config.ranks);
  const wire = r.config.ranks > 1 ? `${(r.wireBytesPerStep / 1024).toFixed(1)} KiB (${(r.wireBytesPerStep / base.wireBytesPerStep).toFixed(3)}×)` : '—';
  return `| ${r.config.ranks} | ${r.config.batch} | ${r.config.codec} | ${acc(r).toFixed(2)} | ${(acc(r) - acc(one)).toFixed(2)} | ${wire} | ${r.medianStepMs.toFixed(1)} (${(r.medianStepMs / one.medianStepMs).toFixed(2)}×) |`;
});
const table = [
  '| ranks | batch per rank | codec | test accuracy % | vs 1 rank | sent per step by rank 0 (vs float32) | median ms per step (vs 1 rank) |',
  '| ---: | ---: | --- | ---: | ---: | ---: | ---: |',
  ...rows,
].join('\n');
writeFileSync(join(dir, 'results.md'), `${table}\n`);
writeFileSync(join(dir, 'results.json'), JSON.stringify(results.map((r) => ({ ...r, losses: r.losses.map((l) => Number(l.toFixed(5))) })), null, 1));
console.log(table);
