// The closing tables of bench/tcp-netns.sh: busbw per size of each webccl transport (read from
// webccl-perf's -J report, in-place times) and of Gloo (gloo_allreduce.py's JSON lines), and the
// ratio of each webccl transport to Gloo (>1: webccl faster), through the table
// `npm run bench:compare` prints. A contestant named several times ran several rounds: one
// table per round, then one of each contestant's median time per size over the rounds.
//   node --import ./test/register.mjs bench/tcp-netns-report.ts --np N [--webccl NAME=REPORT.json ...] [--gloo RANK0.out ...]
import { readFileSync } from 'node:fs';
import { comparisonTable, missingLines } from './compare/report.js';
import { parseTimingLines, type PeerResult } from './compare/peer.js';
import type { PerfReport } from './perf/report.js';

type Timed = { readonly name: string; readonly timesUs: ReadonlyMap<number, number> };

/** Each contestant's results in the order given: the k-th of a name is its round k. */
function parse(argv: readonly string[]): { ranks: number; results: PeerResult[] } {
  let ranks = 0;
  const results: PeerResult[] = [];
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--np') ranks = Number(value);
    else if (flag === '--gloo') results.push(glooResult(value));
    else if (flag === '--webccl' && value.includes('=')) results.push(webcclResult(value.slice(0, value.indexOf('=')), value.slice(value.indexOf('=') + 1)));
    else throw new Error(`tcp-netns-report: unknown option ${flag} ${value} (--np N, --webccl NAME=FILE, --gloo FILE)`);
  }
  if (!Number.isInteger(ranks) || ranks < 2) throw new Error('tcp-netns-report: --np needs 2 or more ranks');
  return { ranks, results };
}

function webcclResult(name: string, file: string): PeerResult {
  const report = JSON.parse(readFileSync(file, 'utf8')) as PerfReport;
  return { name: `webccl-${name}`, timesUs: new Map(report.results.map((row) => [row.size, row.in_place.time])) };
}

function glooResult(file: string): PeerResult {
  const times = parseTimingLines(readFileSync(file, 'utf8').split('\n'));
  return times.size > 0 ? { name: 'gloo', timesUs: times } : { name: 'gloo', missing: `no timing lines in ${file}: ${readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' / ')}` };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Per contestant, the median over its rounds of the time at each size. */
function medians(results: readonly PeerResult[]): PeerResult[] {
  const names = [...new Set(results.map((r) => r.name))];
  return names.flatMap((name) => {
    const rounds = results.filter((r): r is Timed => r.name === name && 'timesUs' in r);
    if (rounds.length === 0) return [];
    const sizes = [...new Set(rounds.flatMap((r) => [...r.timesUs.keys()]))];
    return [{ name, timesUs: new Map(sizes.map((size) => [size, median(rounds.flatMap((r) => r.timesUs.get(size) ?? []))])) }];
  });
}

const { ranks, results } = parse(process.argv.slice(2));
const sizes = [...new Set(results.flatMap((r) => ('timesUs' in r ? [...r.timesUs.keys()] : [])))].sort((a, b) => a - b);
const webccl = [...new Set(results.map((r) => r.name).filter((name) => name.startsWith('webccl-')))];
const roundCount = Math.max(...[...new Set(results.map((r) => r.name))].map((name) => results.filter((r) => r.name === name).length));
const lines: string[] = [];
for (let round = 0; round < roundCount; round++) {
  const these = [...new Set(results.map((r) => r.name))].flatMap((name) => results.filter((r) => r.name === name)[round] ?? []);
  if (roundCount > 1) lines.push(`# round ${round + 1} of ${roundCount}`);
  lines.push(...comparisonTable(these, webccl, sizes, ranks), ...missingLines(these));
}
if (roundCount > 1) {
  lines.push(`# median time per size over ${roundCount} rounds`);
  lines.push(...comparisonTable(medians(results), webccl, sizes, ranks));
}
console.log(lines.join('\n'));
