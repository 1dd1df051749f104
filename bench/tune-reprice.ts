// The measurements of earlier bench/tune-sweep.ts runs (their WEBCCL_SWEEP_JSON files) priced
// again with the model as it is now, each world with the parameters its calibration gave then:
// a change to the model's formulas (not to calibration) compared on the very same rounds, where
// alternated sweeps on a loaded host differ by more than such a change does (single runs of one
// version: median errors of 26-61% within minutes). Prints each run's summary as the sweep's
// report does (tune-sweep-report.ts), the biases of one sign in every run (tune-sweep-pool.ts),
// and what auto would pick now at each size against the best fixed column measured (auto's own
// column ran the old pick; a new pick is scored with its fixed column's median).
//   node --import ./test/register.mjs bench/tune-reprice.ts RUN.json...
// Run it on the old code (git stash) and the new for the before/after of a model change.
import { readFileSync } from 'node:fs';
import { poolLines, reportLines, type PointStats, type SweptWorld } from './tune-sweep-report.js';
import { picks, repriced, type Run } from './tune-reprice-points.js';

function readRun(file: string): Run {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { points?: PointStats[]; worlds?: SweptWorld[] };
  if (!Array.isArray(parsed.points) || !Array.isArray(parsed.worlds)) throw new Error(`${file} has no points or no worlds (written by a tune-sweep.ts from before they were saved)`);
  return { file, points: parsed.points, worlds: parsed.worlds };
}

const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: tune-reprice.ts RUN.json... (files written by bench/tune-sweep.ts with WEBCCL_SWEEP_JSON)');
const runs = files.map(readRun);
const all = runs.map(repriced);
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
runs.forEach((run, i) => {
  console.log(`# ${run.file}`);
  for (const line of reportLines(all[i]!).slice(0, 4)) console.log(line);
  const rows = picks(run);
  const within = rows.filter((r) => r.ratio <= 1.1);
  console.log(`# picks now: within 1.10 of the best fixed column at ${within.length} of ${rows.length} sizes; misses: ${rows.filter((r) => r.ratio > 1.1).map((r) => `${r.where} ${r.pick}/${r.best} ${r.ratio.toFixed(2)}`).join(', ')}`);
});
for (const line of poolLines(all)) console.log(line);
