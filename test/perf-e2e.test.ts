import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePerfArgs, type PerfOptions } from '../bench/perf/args.js';
import { runSweep, type PerfComm } from '../bench/perf/sweep.js';
import { HostStore } from '../bench/perf/store.js';
import { HostArrays } from '../bench/perf/host-arrays.js';
import type { PerfReport } from '../bench/perf/report.js';

const dir = mkdtempSync(join(tmpdir(), 'webccl-perf-test-'));

function perf(...args: string[]) {
  return perfWithEnv({}, ...args);
}

function perfWithEnv(env: Record<string, string | undefined>, ...args: string[]) {
  const json = join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
  // Correctness and output, not timing: no JIT warm-up (test/perf-jit-warmup.test.ts tests it).
  const run = spawnSync(process.execPath, ['--import', './test/register.mjs', 'bin/webccl-perf.ts', ...args, '--jit-warmup', '0', '-J', json],
    { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  const report = existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) as PerfReport : undefined;
  return { ...run, report };
}

function options(...argv: string[]): PerfOptions {
  const parsed = parsePerfArgs(argv);
  if (parsed === 'help' || parsed === 'version') throw new Error(parsed);
  return parsed;
}

// One rank whose "allreduce" never writes: out of place the receive buffer keeps its poison.
const idle: PerfComm = {
  rank: 0, size: 1,
  run: async () => {},
  allGather: (async (values: Float32Array | Uint32Array) => values) as PerfComm['allGather'],
  barrier: async () => {},
  bytesSent: () => 0,
};

test('#wrong is real: a collective that does nothing is caught', async () => {
  const rows = await runSweep(idle, options('allreduce', '-b', '64', '-e', '64', '-n', '1', '-w', '0'), (dtype) => (n) => new HostStore(dtype, n));
  assert.is(rows[0]!.outOfPlace.wrong, 16);
  assert.is(rows[0]!.inPlace.wrong, 0); // in place, the input already is the 1-rank result
});

test('reused host memory is poisoned again: a collective that does nothing is caught in every row', async () => {
  // The sweep's memory (bench/perf/host-arrays.ts) then holds earlier rows' inputs.
  const arrays = new HostArrays();
  const factory = () => (n: number) => new HostStore('float32', n, undefined, arrays);
  for (const sweep of [['-b', '64', '-e', '4K', '-f', '4'], ['-b', '1K', '-e', '1K'], ['-b', '64', '-e', '64']]) {
    const rows = await runSweep(idle, options('allreduce', ...sweep, '-n', '1', '-w', '0', '--jit-warmup', '0'), factory);
    for (const row of rows) {
      assert.is(row.outOfPlace.wrong, row.count, `${row.bytes} B out of place`);
      assert.is(row.inPlace.wrong, 0, `${row.bytes} B in place`);
    }
  }
});

test('every collective, every dtype and op, 3 in-process ranks: #wrong 0', () => {
  for (const collective of ['allreduce', 'allgather', 'reducescatter', 'broadcast', 'reduce', 'alltoall', 'sendrecv']) {
    const run = perf(collective, '--np', '3', '--transport', 'inproc', '--mem', 'cpu', '-b', '4', '-e', '40K', '-f', '10',
      '-n', '1', '-w', '0', '-c', '1', '-d', 'all', '-o', 'all', '-r', '2');
    assert.is(run.status, 0, `${collective}: ${run.stderr}`);
    assert.is(run.report!.out_of_bounds.count, 0, collective);
    assert.ok(run.report!.results.length >= 5 * 5, `${collective}: ${run.report!.results.length} rows`);
    assert.match(run.stdout, /# Out of bounds values : 0 OK/);
  }
});

test('websocket, 2 processes launched by --np: #wrong 0 and the transport in the header', () => {
  const run = perf('allreduce', '--np', '2', '--transport', 'websocket', '--mem', 'cpu', '-b', '4', '-e', '256K', '-f', '8',
    '-n', '2', '-w', '1', '-c', '1', '-d', 'all', '-o', 'sum');
  assert.is(run.status, 0, run.stderr);
  assert.is(run.report!.out_of_bounds.count, 0);
  assert.is(run.report!.results.length, 5 * 6);
  assert.match(run.report!.webccl.transport, /^websocket/);
  assert.match(run.stdout, /# Out of bounds values : 0 OK/);
  // Each process named its own device through the communicator: two ranks, two processes.
  const devices = run.report!.config.devices;
  assert.equal(devices.map((d) => d.rank), [0, 1]);
  assert.is(new Set(devices.map((d) => d.pid)).size, 2);
});

/** A port nothing listens on now (for a hand-started rank 0's rendezvous). */
function freePort(): number {
  const probe = spawnSync(process.execPath, ['-e', "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"], { encoding: 'utf8' });
  return Number(probe.stdout.trim());
}

test('a rank started by hand (RANK, WORLD_SIZE, MASTER_*) uses --transport, not the WEBCCL_TRANSPORT default', () => {
  const env = { RANK: '0', WORLD_SIZE: '1', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(freePort()), WEBCCL_TRANSPORT: undefined, WEBCCL_ID: undefined };
  const run = perfWithEnv(env, 'allreduce', '--transport', 'tcp', '--mem', 'cpu', '-b', '1K', '-e', '1K', '-n', '1', '-w', '0');
  assert.is(run.status, 0, run.stderr);
  assert.match(run.report!.webccl.transport, /^tcp/);
});

test('a hand-started rank whose WEBCCL_ID names another transport than --transport: an error naming both', () => {
  const env = { RANK: '0', WORLD_SIZE: '1', WEBCCL_ID: `webccl://127.0.0.1:1/${'0'.repeat(32)}`, WEBCCL_TRANSPORT: undefined };
  const run = perfWithEnv(env, 'allreduce', '--transport', 'tcp', '--mem', 'cpu', '-b', '1K', '-e', '1K', '-n', '1', '-w', '0');
  assert.is(run.status, 1);
  assert.match(run.stderr, /WEBCCL_ID is a websocket world id but the transport is tcp/);
});

test('table and JSON agree; header states the run', () => {
  const run = perf('allreduce', '--np', '2', '--transport', 'inproc', '--mem', 'cpu', '-b', '1K', '-e', '4K', '-f', '2', '-n', '3', '-w', '1');
  assert.is(run.status, 0, run.stderr);
  const report = run.report!;
  assert.equal(report.results.map((r) => r.size), [1024, 2048, 4096]);
  assert.is(report.webccl.ranks, 2);
  assert.is(report.webccl.transport, 'inproc');
  assert.match(run.stdout, /# ranks: 2 {2}transport: inproc {2}algorithm: auto {2}memory: cpu {2}device: cpu {2}bufferutil: (loaded|not loaded)/);
  assert.match(run.stdout, /^# predicted: cost model with default parameters \(uncalibrated: webccl-perf --calibrate FILE/m);
  const row = run.stdout.split('\n').find((line) => /^\s+4096\s+1024\s+float\s+sum\s+-1/.test(line));
  assert.ok(row, run.stdout);
  assert.match(run.stdout, /# Avg bus bandwidth {4}: [\d.e-]+/);
});

test('bad flags exit 2 with a clear message', () => {
  const run = spawnSync(process.execPath, ['--import', './test/register.mjs', 'bin/webccl-perf.ts', 'allreduce', '-b', 'huge'], { encoding: 'utf8' });
  assert.is(run.status, 2);
  assert.match(run.stderr, /webccl-perf: -b: "huge" is not a size/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
