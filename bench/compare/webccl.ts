// The webccl contestant: webccl-perf itself, run as a user would (the sweep's collective, --np N
// over one transport, -c 0 so that only the collective is timed), reading back its JSON report.
// In-place times are used because torch's all_reduce is always in place and the MPI peer is run
// that way too. Its sizes are webccl-perf's layout, which the MPI peer follows (peer.ts).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRepoFile, nodeArgsFor } from '../../bin/launch/launch.js';
import { runCommand, tail } from './exec.js';
import type { CompareSweep, PeerResult } from './peer.js';
import type { PerfReport } from '../perf/report.js';
import type { TransportSetting } from '../../lib/settings.js';

/** The contestant's name in the comparison's table: webccl-ws, webccl-tcp, webccl-shm, ... */
export function webcclName(transport: TransportSetting, hostBuffers = false): string {
  return `webccl-${transport === 'websocket' ? 'ws' : transport}${hostBuffers ? '-hostbuf' : ''}`;
}

/** `hostBuffers`: webccl-perf --host-buffers (CPU buffers from Communicator.allocHostBuffer). */
export async function measureWebccl(sweep: CompareSweep, transport: TransportSetting, hostBuffers = false): Promise<PeerResult> {
  const name = webcclName(transport, hostBuffers);
  const perf = findRepoFile('bin/webccl-perf.ts');
  if (perf === undefined) return { name, missing: 'bin/webccl-perf.ts not found' };
  const dir = await mkdtemp(join(tmpdir(), 'webccl-compare-'));
  try {
    const json = join(dir, 'report.json');
    const run = await runCommand(process.execPath, [
      ...nodeArgsFor(perf), sweep.collective, '--np', String(sweep.ranks), '--transport', transport, '--mem', 'cpu',
      '-d', 'float', '-o', 'sum', '-c', '0', '-a', '1',
      '-b', String(sweep.minBytes), '-e', String(sweep.maxBytes), '-f', String(sweep.stepFactor),
      '-n', String(sweep.iters), '-w', String(sweep.warmup), '-J', json, ...(hostBuffers ? ['--host-buffers'] : []),
    ]);
    if (run.code !== 0) return { name, missing: `webccl-perf failed (code ${run.code}): ${tail(run.stderr)}` };
    const report = JSON.parse(await readFile(json, 'utf8')) as PerfReport;
    return { name, timesUs: new Map(report.results.map((row) => [row.size, row.in_place.time])) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
