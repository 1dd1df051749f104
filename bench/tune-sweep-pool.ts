// Several bench/tune-sweep.ts runs pooled (their WEBCCL_SWEEP_JSON files): each run's summary,
// each point's error as the median over the runs, and the biases that hold in every run. Noise
// flips a group's sign from one run to the next; a group (transport, ranks, schedule, size band)
// predicted too high, or too low, in every run is the model's (or calibration's) error.
//   node --import ./test/register.mjs bench/tune-sweep-pool.ts RUN.json...
import { readFileSync } from 'node:fs';
import { poolLines, summarize, where, type PointStats } from './tune-sweep-report.js';

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
for (const line of poolLines(runs)) console.log(line);
