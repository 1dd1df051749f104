// npm run bench:compare: one allreduce sweep (float32 sum, in place, CPU memory) through webccl
// over each of its transports (shm and ntcp report why when the addon is unavailable), then
// torch.distributed/gloo and Open MPI over TCP and over shared memory (vader), one after the
// other on this machine, with busbw side by side and webccl's ratio to each peer. Peers that
// are not installed are reported by name.
//
//   npm run bench:compare -- [--np 2|4] [-b 8] [-e 64M] [-f 2] [-n 20] [-w 3] [--json FILE] [--plot FILE.svg]
//     [--transports inproc,websocket,tcp,shm,ntcp] [--peers gloo,mpi-tcp,mpi-sm]
import { writeFile } from 'node:fs/promises';
import { cpus, hostname, loadavg } from 'node:os';
import { parseBytes, sweepSizes } from './perf/sizes.js';
import { measureGloo } from './compare/gloo.js';
import { measureMpi } from './compare/mpi.js';
import { measureWebccl, webcclName } from './compare/webccl.js';
import { writeComparePlot } from './compare/plot.js';
import { plotFile } from './perf/args.js';
import { comparisonTable, latencyLines, missingLines } from './compare/report.js';
import type { CompareSweep, PeerResult } from './compare/peer.js';
import { bufferutilLoaded } from '../lib/transport/websocket/bufferutil-status.js';

const TRANSPORTS = ['inproc', 'websocket', 'tcp', 'shm', 'ntcp'];
const PEERS = ['gloo', 'mpi-tcp', 'mpi-sm'];

interface CompareOptions {
  readonly sweep: CompareSweep;
  readonly transports: readonly string[];
  readonly peers: readonly string[];
  readonly jsonFile: string | undefined;
  readonly plotFile: string | undefined;
}

function parseCompareArgs(argv: readonly string[]): CompareOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (!['--np', '-b', '-e', '-f', '-n', '-w', '--json', '--plot', '--transports', '--peers'].includes(flag)) {
      throw new Error(`unknown option ${flag} (options: --np -b -e -f -n -w --json --plot --transports --peers)`);
    }
    if (value === undefined) throw new Error(`${flag} needs a value`);
    values.set(flag, value);
  }
  const integer = (flag: string, fallback: number): number => {
    const raw = values.get(flag);
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} needs a positive integer, got ${raw}`);
    return value;
  };
  const sweep: CompareSweep = {
    ranks: integer('--np', 2),
    minBytes: parseBytes(values.get('-b') ?? '8'),
    maxBytes: parseBytes(values.get('-e') ?? '64M'),
    stepFactor: integer('-f', 2),
    stepBytes: 0,
    iters: integer('-n', 20),
    warmup: integer('-w', 3),
  };
  if (sweep.stepFactor < 2) throw new Error('-f must be 2 or more (the peers step by a factor)');
  const plot = values.get('--plot');
  return {
    sweep, jsonFile: values.get('--json'), plotFile: plot === undefined ? undefined : plotFile(plot),
    transports: listOption(values.get('--transports'), '--transports', TRANSPORTS), peers: listOption(values.get('--peers'), '--peers', PEERS),
  };
}

/** A comma-separated subset of `known` (all of it when absent). */
function listOption(raw: string | undefined, flag: string, known: readonly string[]): string[] {
  if (raw === undefined) return [...known];
  const picked = raw.split(',').filter((name) => name !== '');
  const unknown = picked.filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new Error(`${flag}: unknown ${unknown.join(', ')} (known: ${known.join(', ')})`);
  return picked;
}

async function main(): Promise<void> {
  const { sweep, jsonFile, plotFile, transports, peers } = parseCompareArgs(process.argv.slice(2));
  const peerRuns: Record<string, () => Promise<PeerResult>> = {
    gloo: () => measureGloo(sweep),
    'mpi-tcp': () => measureMpi(sweep, 'tcp'),
    'mpi-sm': () => measureMpi(sweep, 'sm'),
  };
  const webccl = transports.map(webcclName);
  const contestants: Array<[string, () => Promise<PeerResult>]> = [
    ...transports.map((transport): [string, () => Promise<PeerResult>] => [webcclName(transport), () => measureWebccl(sweep, transport)]),
    ...peers.map((peer): [string, () => Promise<PeerResult>] => [peer, peerRuns[peer]!]),
  ];
  // Other work on the machine distorts every number: say how busy it was.
  const loadBefore = loadavg()[0]!;
  const results: PeerResult[] = [];
  // One after the other: they would otherwise fight over the same cores.
  for (const [name, measure] of contestants) {
    process.stderr.write(`# measuring ${name} ...\n`);
    const started = Date.now();
    results.push(await measure());
    process.stderr.write(`# ${name} took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  const sizes = sweepSizes(sweep);
  const lines = [
    `# machine: ${hostname()}, ${cpus().length} x ${cpus()[0]?.model ?? 'unknown cpu'}, node ${process.version}, bufferutil ${bufferutilLoaded() ? 'loaded' : 'not loaded'}`,
    `# iterations ${sweep.iters}, warmup ${sweep.warmup}; time = mean over ranks of each rank's time per call; load average ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`,
    ...comparisonTable(results, webccl, sizes, sweep.ranks),
    ...latencyLines(results, webccl, sizes[0]!),
    ...missingLines(results),
  ];
  console.log(lines.join('\n'));
  if (plotFile !== undefined) await writeComparePlot(plotFile, results, sweep.ranks);
  if (jsonFile !== undefined) {
    const serializable = results.map((r) => ('timesUs' in r ? { name: r.name, timesUs: Object.fromEntries(r.timesUs) } : r));
    await writeFile(jsonFile, JSON.stringify({ sweep, results: serializable }, null, 2));
  }
}

try {
  await main();
} catch (error) {
  console.error(`bench:compare: ${(error as Error).message}`);
  process.exitCode = 2;
}
