// The closing table of bench/tcp-netns.sh: busbw per size of each webccl transport (read from
// webccl-perf's -J report, in-place times) and of Gloo (gloo_allreduce.py's JSON lines), and the
// ratio of each webccl transport to Gloo (>1: webccl faster), through the same table
// `npm run bench:compare` prints.
//   node --import ./test/register.mjs bench/tcp-netns-report.ts --np N [--webccl NAME=REPORT.json ...] [--gloo RANK0.out]
import { readFileSync } from 'node:fs';
import { comparisonTable, missingLines } from './compare/report.js';
import { parseTimingLines, type PeerResult } from './compare/peer.js';
import type { PerfReport } from './perf/report.js';

function parse(argv: readonly string[]): { ranks: number; webccl: [string, string][]; gloo: string | undefined } {
  let ranks = 0;
  const webccl: [string, string][] = [];
  let gloo: string | undefined;
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--np') ranks = Number(value);
    else if (flag === '--gloo') gloo = value;
    else if (flag === '--webccl' && value.includes('=')) webccl.push([value.slice(0, value.indexOf('=')), value.slice(value.indexOf('=') + 1)]);
    else throw new Error(`tcp-netns-report: unknown option ${flag} ${value} (--np N, --webccl NAME=FILE, --gloo FILE)`);
  }
  if (!Number.isInteger(ranks) || ranks < 2) throw new Error('tcp-netns-report: --np needs 2 or more ranks');
  return { ranks, webccl, gloo };
}

function webcclResult(name: string, file: string): PeerResult {
  const report = JSON.parse(readFileSync(file, 'utf8')) as PerfReport;
  return { name: `webccl-${name}`, timesUs: new Map(report.results.map((row) => [row.size, row.in_place.time])) };
}

const { ranks, webccl, gloo } = parse(process.argv.slice(2));
const results: PeerResult[] = webccl.map(([name, file]) => webcclResult(name, file));
if (gloo !== undefined) {
  const times = parseTimingLines(readFileSync(gloo, 'utf8').split('\n'));
  results.push(times.size > 0 ? { name: 'gloo', timesUs: times } : { name: 'gloo', missing: `no timing lines in ${gloo}` });
}
const sizes = [...new Set(results.flatMap((r) => ('timesUs' in r ? [...r.timesUs.keys()] : [])))].sort((a, b) => a - b);
for (const line of [...comparisonTable(results, results.filter((r) => r.name.startsWith('webccl-')).map((r) => r.name), sizes, ranks), ...missingLines(results)]) {
  console.log(line);
}
