// Several bench/tune-sweep.ts runs pooled (their WEBCCL_SWEEP_JSON files): each run's summary,
// each point's error as the median over the runs, and the biases that hold in every run. Noise
// flips a group's sign from one run to the next; a group (transport, ranks, schedule, size band)
// predicted too high, or too low, in every run is the model's (or calibration's) error.
//   node --import ./test/register.mjs bench/tune-sweep-pool.ts RUN.json...
import { readFileSync } from 'node:fs';
import { consistentBiases, medianOf, summarize, where, type PointStats } from './tune-sweep-report.js';

const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: tune-sweep-pool.ts RUN.json... (files written by bench/tune-sweep.ts with WEBCCL_SWEEP_JSON)');
const runs = files.map((file) => {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { points?: PointStats[] };
  if (!Array.isArray(parsed.points)) throw new Error(`${file} has no points (written by a tune-sweep.ts from before they were saved)`);
  return parsed.points;
});
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
runs.forEach((points, i) => {
  const s = summarize(points);
  console.log(`# ${files[i]}: ${s.points} points, median ${pct(s.median)}, 90th ${pct(s.p90)}, worst ${pct(s.worst.error)} (${where(s.worst)}); rounds' spread median ${s.medianSpread.toFixed(2)}x`);
});
const byPoint = new Map<string, number[]>();
for (const points of runs) for (const p of points) byPoint.set(where(p), [...(byPoint.get(where(p)) ?? []), p.error]);
const pooled = [...byPoint.values()].map(medianOf).sort((a, b) => a - b);
console.log(`# pooled, each point's median error over ${runs.length} runs: median ${pct(pooled[Math.floor(pooled.length / 2)]!)}, 90th ${pct(pooled[Math.floor(pooled.length * 0.9)]!)}, worst ${pct(pooled.at(-1)!)}`);
console.log('# biases of one sign in every run (group: each run\'s median signed error):');
for (const bias of consistentBiases(runs)) console.log(`  ${bias.key}: ${bias.perRun.map((x) => `${x > 0 ? '+' : ''}${pct(x)}`).join(' ')}`);
