// The cost model against measurement: for each transport and rank count, calibrate
// (webccl-perf --calibrate), then sweep allreduce over sizes with each fixed algorithm (ring,
// tree, and the direct exchange) and with 'auto' reading the tuning file, all in one run, and
// compare: auto's time against the best fixed choice at each size, and every measured time
// against the model's prediction for the algorithm that ran (priced with the file's parameters).
//   node --import ./test/register.mjs bench/tune-sweep.ts [transports=inproc,tcp,shm] [ranks=2,4] [-e 64M] [-n 3] [-f 4]
// Prints one table per (transport, ranks) and a summary; writes nothing but temporary files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { candidates, predictSeconds } from '../lib/tune/model.js';
import { checkCostParams, type CostParams } from '../lib/tune/params.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => { const at = args.indexOf(name); return at >= 0 ? args[at + 1]! : fallback; };
const positional = args.filter((a, i) => !a.startsWith('-') && !args[i - 1]?.startsWith('-'));
const transports = (positional[0] ?? 'inproc,tcp,shm').split(',');
const rankCounts = (positional[1] ?? '2,4').split(',').map(Number);
const maxBytes = flag('-e', '64M');
const iters = flag('-n', '3');
const factor = flag('-f', '4');
const dir = mkdtempSync(join(tmpdir(), 'webccl-tune-sweep-'));
const CHUNK = 1 << 20;

function perf(perfArgs: readonly string[], env: Record<string, string> = {}): { ok: boolean; out: string } {
  const run = spawnSync(process.execPath, ['--import', './test/register.mjs', 'bin/webccl-perf.ts', ...perfArgs], {
    encoding: 'utf8', env: { ...process.env, ...env }, timeout: 900_000,
  });
  if (run.status !== 0) console.error(`webccl-perf ${perfArgs.join(' ')}: exit ${run.status}: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return { ok: run.status === 0, out: run.stdout };
}

/** Out-of-place microseconds by size, from -J's results. */
function times(json: string): Map<number, number> {
  const report = JSON.parse(readFileSync(json, 'utf8')) as { results: { size: number; out_of_place: { time: number } }[] };
  return new Map(report.results.map((r) => [r.size, r.out_of_place.time]));
}

const errors: number[] = [];
const ratios: { where: string; ratio: number }[] = [];

for (const transport of transports) {
  for (const np of rankCounts) {
    const file = join(dir, `${transport}-${np}.json`);
    const common = ['allreduce', '--np', String(np), '--transport', transport, '--mem', 'cpu'];
    const started = performance.now();
    if (!perf([...common, '--calibrate', file]).ok) continue;
    const calibration = ((performance.now() - started) / 1000).toFixed(1);
    const params: CostParams = checkCostParams(JSON.parse(readFileSync(file, 'utf8')).params);
    const sweep = [...common, '-b', '8', '-e', maxBytes, '-f', factor, '-n', iters, '-w', '1', '-c', '0'];
    const runs: Record<string, Map<number, number>> = {};
    const configs: [string, string[], Record<string, string>][] = [
      ['ring', ['--algo', 'ring'], {}],
      ['tree', ['--algo', 'tree'], {}],
      // The direct exchange is not selectable by name: the size rule with an unbounded threshold picks it.
      ['direct', ['--algo', 'auto', '-e', '4M'], { WEBCCL_DIRECT_THRESHOLD_BYTES: String(2 ** 40) }],
      ['auto', ['--algo', 'auto'], { WEBCCL_TUNING_FILE: file }],
    ];
    for (const [name, extra, env] of configs) {
      const json = join(dir, `${transport}-${np}-${name}.json`);
      if (perf([...sweep, ...extra, '-J', json], env).ok) runs[name] = times(json);
    }
    console.log(`\n# ${transport}, ${np} ranks (calibration ${calibration} s incl. start): call ${(params.call * 1e6).toFixed(1)} us, alpha ${(params.alpha * 1e6).toFixed(1)} us, beta ${(params.beta * 1e9).toFixed(3)} ns/B, gamma ${(params.gamma * 1e9).toFixed(3)} ns/B`);
    console.log('#      size      ring      tree    direct  auto(pick)          best   auto/best  pred(auto)  err(auto)');
    for (const [size, autoUs] of runs['auto'] ?? []) {
      const fixed = ['ring', 'tree', 'direct'].map((name) => [name, runs[name]?.get(size)] as const).filter(([, t]) => t !== undefined) as [string, number][];
      const best = fixed.reduce((a, b) => (b[1] < a[1] ? b : a));
      const call = { collective: 'allReduce' as const, bytes: size, ranks: np, chunkBytes: CHUNK };
      const pick = candidates(call, params, { aggregator: false })[0]!;
      for (const [name, t] of [...fixed, ['auto', autoUs] as [string, number]]) {
        const predicted = (name === 'auto' ? pick.seconds : predictSeconds(name, call, params)!) * 1e6;
        errors.push(Math.abs(predicted - t) / t);
      }
      const ratio = autoUs / best[1];
      ratios.push({ where: `${transport} np${np} ${size}B (${pick.algorithm} vs best ${best[0]})`, ratio });
      const cell = (t: number | undefined) => (t === undefined ? '-' : t.toFixed(0)).padStart(9);
      const predictedAuto = pick.seconds * 1e6;
      console.log(` ${String(size).padStart(9)} ${cell(runs['ring']?.get(size))} ${cell(runs['tree']?.get(size))} ${cell(runs['direct']?.get(size))} ${cell(autoUs)} ${pick.algorithm.padEnd(6)} ${best[0].padStart(6)} ${ratio.toFixed(2).padStart(10)} ${predictedAuto.toFixed(0).padStart(11)} ${((predictedAuto - autoUs) / autoUs * 100).toFixed(0).padStart(9)}%`);
    }
  }
}

const sorted = [...errors].sort((a, b) => a - b);
const sortedRatios = [...ratios].sort((a, b) => a.ratio - b.ratio);
console.log(`\n# prediction error |pred - measured| / measured over ${sorted.length} (algorithm, size) points: median ${(100 * sorted[Math.floor(sorted.length / 2)]!).toFixed(0)}%, 90th ${(100 * sorted[Math.floor(sorted.length * 0.9)]!).toFixed(0)}%, worst ${(100 * sorted.at(-1)!).toFixed(0)}%`);
console.log(`# auto / best fixed over ${ratios.length} sizes: median ${sortedRatios[Math.floor(ratios.length / 2)]!.ratio.toFixed(2)}, within 1.10 at ${ratios.filter((r) => r.ratio <= 1.1).length}, worst ${sortedRatios.at(-1)!.ratio.toFixed(2)} (${sortedRatios.at(-1)!.where})`);
rmSync(dir, { recursive: true, force: true });
