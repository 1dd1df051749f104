// webccl-perf's -J output has nccl-tests' JSON keys (src/util.cu of NVIDIA/nccl-tests, JSON file
// version 3), the header lists each rank's device as nccl-tests' "# Using devices" does, and
// --plot writes an SVG with one series per (algorithm, transport, op/type) of the run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderBusbwSvg } from '../bench/perf/plot.js';
import { runEnvironment } from '../bench/perf/report.js';

const dir = mkdtempSync(join(tmpdir(), 'webccl-perf-report-'));

function perf(...args: string[]) {
  return spawnSync(process.execPath, ['--import', './test/register.mjs', 'bin/webccl-perf.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** The series names in an SVG, read from its legend text as a person would. */
function legendNames(svg: string): string[] {
  return [...svg.matchAll(/<text class="legend"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!.replaceAll('&amp;', '&'));
}

// nccl-tests' keys, copied from its writers (jsonOutputInit, writeDeviceReport, jsonRankInfo,
// writeBenchmarkLine*, writeResultFooter, writeErrors, jsonOutputFinalize).
const TOP_KEYS = ['version', 'start_time', 'args', 'env', 'nccl_version', 'config', 'results', 'out_of_bounds', 'average_bus_bandwidth', 'errors', 'end_time'];
const CONFIG_KEYS = ['nthreads', 'ngpus', 'minimum_bytes', 'maximum_bytes', 'step_factor', 'warmup_iters', 'iterations', 'aggregated_iterations',
  'validation', 'graph', 'blocking_collectives', 'per_iter_timing', 'per_iter_skip', 'parallel_init', 'devices'];
const DEVICE_KEYS = ['rank', 'group', 'pid', 'hostname', 'device', 'device_hex', 'device_info'];
const RESULT_KEYS = ['size', 'count', 'type', 'redop', 'root', 'out_of_place', 'in_place', 'actual_iterations', 'experiment_name'];
const MEASUREMENT_KEYS = ['time', 'alg_bw', 'bus_bw', 'nwrong'];

test('-J: nccl-tests keys and nesting, webccl facts under "webccl"; devices header; --plot series', () => {
  const json = join(dir, 'run.json');
  const svg = join(dir, 'run.svg');
  const run = perf('allreduce', '--np', '3', '--transport', 'inproc', '--mem', 'cpu', '-b', '1K', '-e', '16K', '-f', '4',
    '-n', '2', '-w', '1', '-o', 'all', '-d', 'float', '-J', json, '--plot', svg);
  assert.is(run.status, 0, run.stderr);
  const report = JSON.parse(readFileSync(json, 'utf8')) as Record<string, any>;
  assert.equal(Object.keys(report).filter((k) => k !== 'webccl'), TOP_KEYS);
  assert.equal(Object.keys(report['config']), CONFIG_KEYS);
  assert.is(report['version'], 3);
  assert.is(report['config'].warmup_iters, 1);
  assert.is(report['config'].step_factor, 4);
  assert.is(report['config'].blocking_collectives, 'false'); // nccl-tests' jsonBool writes a string
  assert.is(report['config'].devices.length, 3);
  for (const device of report['config'].devices) assert.equal(Object.keys(device), DEVICE_KEYS);
  assert.equal(report['config'].devices.map((d: { rank: number }) => d.rank), [0, 1, 2]);
  assert.is(report['results'].length, 6 * 3);
  for (const row of report['results']) {
    assert.equal(Object.keys(row), RESULT_KEYS);
    assert.equal(Object.keys(row.out_of_place), MEASUREMENT_KEYS);
    assert.equal(Object.keys(row.in_place), MEASUREMENT_KEYS);
    assert.is(row.root, '    -1'); // nccl-tests' "%6i"
    assert.is(row.out_of_place.nwrong, 0);
  }
  assert.ok(report['results'].some((row: { redop: string }) => row.redop === 'mulsum'));
  assert.equal(report['out_of_bounds'], { count: 0, okay: 'true' });
  assert.equal(Object.keys(report['average_bus_bandwidth']), ['bandwidth', 'okay']);
  assert.match(report['start_time'], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.is(report['webccl'].transport, 'inproc');
  // The JIT warm-up before the sweep: asked for in the header, done as the line under the table and the JSON say.
  assert.ok(report['webccl'].jit_warmup.calls > 0 && report['webccl'].jit_warmup.seconds > 0, JSON.stringify(report['webccl'].jit_warmup));
  assert.match(run.stdout, /^# JIT warm-up: up to 20000 untimed calls of the first size before the sweep \(--jit-warmup\)$/m);
  assert.match(run.stdout, new RegExp(`^# JIT warm-up: ${report['webccl'].jit_warmup.calls} calls in \\d+\\.\\d\\d s$`, 'm'));

  // nccl-tests' "# Using devices": one line per rank, each naming the rank's device.
  const lines = run.stdout.split('\n');
  const at = lines.indexOf('# Using devices');
  assert.ok(at > 0, run.stdout);
  for (const rank of [0, 1, 2]) assert.match(lines[at + 1 + rank]!, new RegExp(`^#  Rank  ${rank} Group  0 Pid +\\d+ on +\\S+ device  0 \\[cpu\\] cpu$`));

  const picture = readFileSync(svg, 'utf8');
  assert.ok(statSync(svg).size > 1000);
  assert.match(picture, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  const measured = ['sum', 'prod', 'min', 'max', 'avg', 'mulsum'].map((op) => `auto inproc ${op}/float`);
  // Each measured series beside the cost model's prediction.
  assert.equal(legendNames(picture), [...measured, ...measured.map((name) => `${name} predicted`)]);
  assert.is((picture.match(/<polyline /g) ?? []).length, 12);
});

test('--plot FILE.png is refused with what to do instead (exit 2)', () => {
  const run = perf('allreduce', '--mem', 'cpu', '--plot', join(dir, 'x.png'));
  assert.is(run.status, 2);
  assert.match(run.stderr, /--plot writes an SVG file .*rsvg-convert/);
});

test('plot: log axes, names escaped, a busbw-0 series is still named', () => {
  const svg = renderBusbwSvg('t <1>', [
    { name: 'ring tcp sum/float', points: [{ bytes: 1024, busbw: 0.5 }, { bytes: 1048576, busbw: 5 }] },
    { name: 'a&b', points: [{ bytes: 1024, busbw: 0 }] },
  ]);
  assert.equal(legendNames(svg), ['ring tcp sum/float', 'a&b (busbw 0)']);
  assert.match(svg, /<title>t &lt;1&gt;<\/title>/);
  // x ticks at powers of two from 1 KiB to 1 MiB, y at powers of ten around 0.5..5 GB/s.
  assert.match(svg, />1 KiB</);
  assert.match(svg, />1 MiB</);
  assert.match(svg, />0\.1</);
  assert.match(svg, />10</);
  const [first, second] = [...svg.matchAll(/points="([^"]+)"/g)][0]![1]!.split(' ').map((p) => p.split(',').map(Number));
  assert.ok(first![0]! < second![0]! && first![1]! > second![1]!, 'bigger and faster goes right and up');
});

test('-J env: the run-shaping variables only, never a secret', () => {
  assert.equal(runEnvironment({ WEBCCL_ALGO: 'ring', WEBCCL_SECRET: 's3cret', HOME: '/root', RANK: '1', AWS_SECRET_ACCESS_KEY: 'x' }), ['RANK=1', 'WEBCCL_ALGO=ring']);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
