// npm run bench:compare: one sweep of a collective (allreduce unless named; float32, sum where
// it reduces, in place, CPU memory) through webccl over each of its transports (shm and ntcp
// report why when the addon is unavailable), then torch.distributed/gloo (allreduce only) and
// Open MPI over TCP and over shared memory (vader), one after the other on this machine, with
// busbw side by side and webccl's ratio to each peer. Peers that are not installed are
// reported by name. `npm run bench:compare -- --help` lists the options (bench/compare/args.ts).
import { writeFile } from 'node:fs/promises';
import { cpus, hostname, loadavg } from 'node:os';
import { measureGloo } from './compare/gloo.js';
import { measureMpi } from './compare/mpi.js';
import { measureWebccl, webcclName } from './compare/webccl.js';
import { writeComparePlot } from './compare/plot.js';
import { COMPARE_USAGE, parseCompareArgs } from './compare/args.js';
import { comparisonTable, latencyLines, missingLines } from './compare/report.js';
import { compareSizes, type PeerResult } from './compare/peer.js';
import { bufferutilLoaded } from '../lib/transport/websocket/bufferutil-status.js';
import { DEFAULT_JIT_WARMUP } from './perf/args.js';

async function main(): Promise<void> {
  const options = parseCompareArgs(process.argv.slice(2));
  if (options === 'help') {
    console.log(COMPARE_USAGE);
    return;
  }
  const { sweep, jsonFile, plotFile, transports, peers, hostBuffers } = options;
  const sizes = compareSizes(sweep);
  if (sizes.length === 0) throw new Error(`no size from -b to -e holds a float32 for each of ${sweep.ranks} ranks`);
  const peerRuns: Record<string, () => Promise<PeerResult>> = {
    gloo: () => measureGloo(sweep),
    'mpi-tcp': () => measureMpi(sweep, 'tcp'),
    'mpi-sm': () => measureMpi(sweep, 'sm'),
  };
  const webccl = transports.map((transport) => webcclName(transport, hostBuffers));
  const contestants: Array<[string, () => Promise<PeerResult>]> = [
    ...transports.map((transport): [string, () => Promise<PeerResult>] => [webcclName(transport, hostBuffers), () => measureWebccl(sweep, transport, hostBuffers)]),
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
  const lines = [
    `# machine: ${hostname()}, ${cpus().length} x ${cpus()[0]?.model ?? 'unknown cpu'}, node ${process.version}, bufferutil ${bufferutilLoaded() ? 'loaded' : 'not loaded'}`,
    `# iterations ${sweep.iters}, warmup ${sweep.warmup}; time = mean over ranks of each rank's time per call; load average ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`,
    `# webccl-perf first runs up to ${DEFAULT_JIT_WARMUP} untimed calls of the first size (--jit-warmup), so that V8's compiled code is timed`,
    ...comparisonTable(results, webccl, sizes, sweep.ranks, sweep.collective),
    ...latencyLines(results, webccl, sizes[0]!, sweep.collective),
    ...missingLines(results),
  ];
  console.log(lines.join('\n'));
  if (plotFile !== undefined) await writeComparePlot(plotFile, results, sweep.ranks, sweep.collective);
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
