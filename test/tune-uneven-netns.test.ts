// An uneven cluster for real: 4 ranks, each in its own network namespace behind a veth link
// shaped with tc, the last one at a quarter of the others' rate (bench/switch-rack.sh -s 4).
// webccl-perf --calibrate across them must see the slow link (its rank, and how much slower its
// link is each way: the slow link's β, the fast links' times that, cannot come out faster than
// the slow link allows), every rank must adopt the file
// rank 0 wrote, and 'auto' with it must run and agree (a disagreement would fail the call on
// every rank). Needs root and iproute2 (the project's machines have both); fails, never skips.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { within } from './within.js';

function rack(): Promise<{ code: number | null; out: string }> {
  const child = spawn('bash', ['bench/switch-rack.sh', '-n', '4', '-r', '400mbit', '-s', '4', '-b', '64K', '-e', '256K', '-f', '4', '-i', '1', '-w', '0', '-c', '1', '-A', 'auto'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => { out += chunk; });
  child.stderr.on('data', (chunk: Buffer) => { out += chunk; });
  setTimeout(() => child.kill('SIGKILL'), 110_000).unref();
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

test('one rank behind a quarter-rate link: calibration sees it (and its probe names the rank), every rank adopts the file, auto runs exact', async () => {
  const { code, out } = await within(rack(), 120_000, 'the uneven rack');
  assert.is(code, 0, out);
  assert.match(out, /rank 3 at 100000kbit/);
  const calibrated = /calibrated 4 ranks over tcp in ([\d.]+) s \([^)]*\); wrote \S+: (\{.*\})$/m.exec(out);
  assert.ok(calibrated, out);
  const params = JSON.parse(calibrated![2]!) as { beta: number; betaCurve?: { linkBytes: number; beta: number }[]; slowRank?: number; slowLink?: { send: number; receive: number } };
  // The slow-rank probe (lib/tune/placement.ts) names it: its pair exchanges run at a quarter of the others'.
  assert.is(params.slowRank, 3, 'the probe found the slow rank');
  // And measures its link each way: a quarter of the others' rate (4x their time), both ways shaped.
  const { send, receive } = params.slowLink ?? { send: 0, receive: 0 };
  assert.ok(send > 2 && send < 8 && receive > 2 && receive < 8, `the slow link each way: ${send}x out, ${receive}x in`);
  // β is then the fast links' (50 MB/s), and the slow link's the slow one's (12.5). Load can only
  // make a measured β larger. The model prices a large host call at the curve's largest point
  // (the single β is fitted jointly with α and o, for the GPU and switch terms, and may come out
  // below any link's).
  const largest = params.betaCurve?.at(-1)?.beta ?? params.beta;
  assert.ok(1 / (largest * Math.min(send, receive)) < 25e6, `calibrated ${(1 / (largest * Math.min(send, receive)) / 1e6).toFixed(1)} MB/s for the slow link's largest runs: the slow link was not seen`);
  assert.match(out, /slow rank 3, kept off the trees' inner nodes; its link [\d.]+x the others' time out, [\d.]+x in/);
  assert.match(out, /parameters from \S+tuning\.json \(tcp, sha-256 [0-9a-f]{16}…\)/);
  assert.not.match(out, /WARN/);
  const rows = out.split('\n').filter((line) => /^\s+\d+\s+\d+\s+float/.test(line));
  assert.is(rows.length, 2, out);
  // #wrong 0 in both placements (summed over all ranks), and a prediction from the file.
  for (const row of rows) assert.match(row, /\s0\s+\S+\s+\S+\s+\S+\s+0\s+[\d.]+$/, row);
});

test.run();
