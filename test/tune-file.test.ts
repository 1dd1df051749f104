// Calibration and the tuning file: every rank ends with rank 0's parameters (the file's digest
// in the agreed configuration), and a file that does not fit (another world's size, transport
// or device, corrupt, truncated, missing, out of range) is a WARN and the defaults on every
// rank, never a failed init or a disagreement. Structure and agreement only, no timings.
process.env['WEBCCL_DEBUG'] = 'WARN';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Communicator, getUniqueId, type InitOptions } from '../lib/index.node.js';
import { calibrateTo } from '../bench/perf/calibration.js';
import { calibrationComm } from '../lib/comm/tuning.js';
import { calibrate } from '../lib/tune/calibrate.js';
import { DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';
import { tuningFileText } from '../lib/tune/tuning-file.js';

const dir = mkdtempSync(join(tmpdir(), 'webccl-tuning-'));
const warnings: string[] = [];
const consoleError = console.error;
console.error = (...args: unknown[]) => { warnings.push(args.join(' ')); };

type PerRank = (rank: number) => Partial<InitOptions>;

async function world(size: number, perRank: PerRank): Promise<Communicator[]> {
  const id = await getUniqueId({ transport: 'inproc' });
  return Promise.all(Array.from({ length: size }, (_, rank) => Communicator.init({ id, rank, size, ...perRank(rank) })));
}

async function close(comms: readonly Communicator[]): Promise<void> {
  await Promise.all(comms.map((comm) => comm.destroy()));
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const params: CostParams = { ...DEFAULT_COST_PARAMS, alpha: 2e-5 };
const fits = (size: number, p: CostParams = params) => tuningFileText({ size, transport: 'inproc', device: 'cpu' }, p, 0.5);

/** An allreduce still runs and agrees (the world is usable). */
async function sums(comms: readonly Communicator[]): Promise<void> {
  const outs = comms.map(() => new Float32Array(1000));
  await Promise.all(comms.map((comm, r) => comm.allReduce(new Float32Array(1000).fill(r + 1), outs[r]!, 1000, 'float32', 'sum')));
  for (const out of outs) assert.is(out[999], (comms.length * (comms.length + 1)) / 2);
}

test('calibration: every rank gets the same parameters, fitted from the largest figures over the ranks', async () => {
  const comms = await world(3, () => ({}));
  try {
    const results = await Promise.all(comms.map((comm) => calibrate(calibrationComm(comm), { repeats: 3 })));
    for (const result of results) {
      assert.equal(result.params, results[0]!.params);
      for (const key of ['call', 'alpha', 'overhead', 'beta', 'gamma'] as const) assert.ok(Number.isFinite(result.params[key]) && result.params[key] >= 0, key);
      // Measured figures (not fitted ones) are the largest over the ranks.
      assert.ok(Math.fround(result.own.gamma) <= result.params.gamma, 'own gamma above the agreed maximum');
      assert.ok(Math.fround(result.own.codecs['int8']!.encode) <= result.params.codecs['int8']!.encode);
      assert.equal(Object.keys(result.params.codecs).sort(), ['bf16', 'fp16', 'int8', 'onebit']);
      assert.ok(Number.isFinite(result.seconds) && result.seconds > 0); // timed by bench, not judged here
      // β by size: one point per mid size (CURVE_BYTES) and per larger run past them (4 and 16 chunks on inproc), ascending.
      assert.ok(result.params.betaCurve.length >= 4, JSON.stringify(result.params.betaCurve));
      result.params.betaCurve.forEach((p, i, curve) => assert.ok(p.beta >= 0 && (i === 0 || p.linkBytes > curve[i - 1]!.linkBytes), JSON.stringify(curve)));
    }
    // The fit may put a small call's whole latency in the per-message o (α and call 0): any of the three counts.
    const { call, alpha, overhead } = results[0]!.params;
    assert.ok(call + alpha + overhead > 0, 'a call takes some time');
  } finally {
    await close(comms);
  }
});

test('calibrateTo writes a file that a world of the same size and transport adopts: every rank the same parameters and digest', async () => {
  const path = join(dir, 'calibrated.json');
  const first = await world(2, () => ({}));
  try {
    await calibrateTo(first, path);
  } finally {
    await close(first);
  }
  warnings.length = 0;
  const comms = await world(2, () => ({ tuningFile: path }));
  try {
    const tuning = comms[0]!.config.tuning;
    assert.ok(tuning, 'rank 0 adopted the file');
    assert.match(tuning!.digest, /^[0-9a-f]{64}$/);
    assert.equal(comms[1]!.config.tuning, tuning);
    assert.equal(warnings, []);
    await sums(comms);
  } finally {
    await close(comms);
  }
});

test('a file naming a slow rank and its link each way: adopted as written, without a WARN, on every rank', async () => {
  const slow = { ...params, slowRank: 1, slowLink: { send: 4.2, receive: 3.1 } };
  warnings.length = 0;
  const comms = await world(2, (rank) => (rank === 0 ? { tuning: fits(2, slow) } : {}));
  try {
    for (const comm of comms) assert.equal(comm.config.tuning?.params.slowLink, slow.slowLink);
    assert.equal(warnings.filter((line) => / WARN /.test(line)), []);
    await sums(comms);
  } finally {
    await close(comms);
  }
});

test("rank 0's file holds: a different file (or none, or a bad one) on another rank changes nothing", async () => {
  const mine = file('rank0.json', fits(3));
  const other = file('other.json', fits(3, { ...params, alpha: 1 }));
  const comms = await world(3, (rank) => (rank === 0 ? { tuningFile: mine } : rank === 1 ? { tuningFile: other } : { tuning: '{' }));
  try {
    assert.equal(comms[0]!.config.tuning!.params, params);
    for (const comm of comms) assert.equal(comm.config.tuning, comms[0]!.config.tuning);
    await sums(comms);
  } finally {
    await close(comms);
  }
});

test('init option calibrate: every rank calibrates and adopts the same parameters (rank 0 asked for it)', async () => {
  const comms = await world(2, (rank) => (rank === 0 ? { calibrate: true, tuning: fits(2) } : {}));
  try {
    const tuning = comms[0]!.config.tuning!;
    assert.ok(comms[0]!.config.calibrate);
    assert.not.equal(tuning.params, params, 'the measured parameters replace the file\'s');
    assert.equal(comms[1]!.config.tuning, tuning);
    await sums(comms);
  } finally {
    await close(comms);
  }
});

const BAD: readonly (readonly [string, () => Partial<InitOptions>, RegExp])[] = [
  ['another size', () => ({ tuningFile: file('size.json', fits(4)) }), /measured on 4 ranks, this world has 2/],
  ['another transport', () => ({ tuning: tuningFileText({ size: 2, transport: 'tcp', device: 'cpu' }, params, 1) }), /measured over "tcp", this world runs over "inproc"/],
  ['another device', () => ({ tuning: tuningFileText({ size: 2, transport: 'inproc', device: 'NVIDIA H200' }, { ...params, memory: 'gpu' }, 1) }), /measured on "NVIDIA H200", this rank's device is "cpu"/],
  ['corrupt', () => ({ tuningFile: file('corrupt.json', 'webccl \u0000\u0001 garbage') }), /is not JSON \(corrupt or truncated\?\)/],
  ['truncated', () => ({ tuningFile: file('cut.json', fits(2).slice(0, 120)) }), /is not JSON \(corrupt or truncated\?\)/],
  ['missing', () => ({ tuningFile: join(dir, 'nowhere.json') }), /nowhere\.json cannot be read: ENOENT/],
  ['out of range', () => ({ tuning: fits(2, { ...params, beta: -1 }) }), /beta -1 is not a number of seconds/],
  ['a beta curve out of order', () => ({ tuning: fits(2, { ...params, betaCurve: [{ linkBytes: 2048, beta: 1e-9 }, { linkBytes: 1024, beta: 1e-9 }] }) }), /betaCurve\[1\]\.linkBytes 1024 does not follow 2048/],
  ['a board cost out of range', () => ({ tuning: fits(2, { ...params, board: { call: -2 } }) }), /board\.call -2 is not a number of seconds/],
  ['a board collective unknown', () => ({ tuning: fits(2, { ...params, board: { call: 1e-4, collectives: { gather: 1e-4 } as never } }) }), /board\.collectives\.gather is not one of/],
  ['a slow rank outside the world', () => ({ tuning: fits(2, { ...params, slowRank: 2 }) }), /slowRank 2 is not a rank of this world of 2/],
  ['a slow rank not a whole number', () => ({ tuning: fits(2, { ...params, slowRank: 0.5 }) }), /slowRank 0\.5 is not a rank \(a whole number >= 0\)/],
  ['a negative slow rank', () => ({ tuning: fits(2, { ...params, slowRank: -1 }) }), /slowRank -1 is not a rank/],
  ['a slow link without its slow rank', () => ({ tuning: fits(2, { ...params, slowLink: { send: 4, receive: 3 } }) }), /slowLink is given without the slowRank it measures/],
  ['a slow link ratio of 0', () => ({ tuning: fits(2, { ...params, slowRank: 1, slowLink: { send: 0, receive: 3 } }) }), /slowLink\.send 0 is not a ratio in \(0, 1000\]/],
  ['a slow link ratio not a number', () => ({ tuning: fits(2, { ...params, slowRank: 1, slowLink: { send: 4, receive: 'fast' as never } }) }), /slowLink\.receive "fast" is not a ratio/],
  ['a slow link not an object', () => ({ tuning: fits(2, { ...params, slowRank: 1, slowLink: [4, 3] as never }) }), /slowLink is not an object of \{ send, receive \} ratios/],
  ['another version', () => ({ tuning: fits(2).replace('"webcclTuning": 1', '"webcclTuning": 9') }), /is version 9, not 1/],
];

for (const [what, options, reason] of BAD) {
  test(`a tuning file of ${what}: a WARN naming why, the defaults on every rank, and a working world`, async () => {
    warnings.length = 0;
    const comms = await world(2, (rank) => (rank === 0 ? options() : {}));
    try {
      for (const comm of comms) assert.is(comm.config.tuning, undefined);
      const warned = warnings.filter((line) => / WARN /.test(line));
      assert.is(warned.length, 1, warnings.join('\n'));
      assert.match(warned[0]!, reason);
      assert.match(warned[0]!, /using the default algorithm choice/);
      await sums(comms);
    } finally {
      await close(comms);
    }
  });
}

test('a file of an older calibration (no overhead, switchRoundTrip or gpu): adopted, o = 0 and the default round trip, one WARN naming them (the GPU terms not, on host memory)', async () => {
  const old = JSON.parse(fits(2)) as { params: Record<string, unknown> };
  delete old.params['overhead'];
  delete old.params['switchRoundTrip'];
  delete old.params['gpu'];
  warnings.length = 0;
  const comms = await world(2, (rank) => (rank === 0 ? { tuning: JSON.stringify(old) } : {}));
  try {
    for (const comm of comms) {
      assert.is(comm.config.tuning?.params.switchRoundTrip, DEFAULT_COST_PARAMS.switchRoundTrip);
      assert.is(comm.config.tuning?.params.gpu, undefined);
      assert.is(comm.config.tuning?.params.alpha, params.alpha);
      // Its α was fitted to price every message: no o on top.
      assert.is(comm.config.tuning?.params.overhead, 0);
    }
    const warned = warnings.filter((line) => / WARN /.test(line));
    assert.is(warned.length, 1, warnings.join('\n'));
    assert.match(warned[0]!, /has no overhead, switchRoundTrip \(calibrated by an older webccl\); using the defaults for them/);
    await sums(comms);
  } finally {
    await close(comms);
  }
});

test('a file from before beta was measured by size (no betaCurve): adopted, its one beta at every size, one WARN naming betaCurve', async () => {
  const old = JSON.parse(fits(2, { ...params, beta: 3e-9 })) as { params: Record<string, unknown> };
  delete old.params['betaCurve'];
  warnings.length = 0;
  const comms = await world(2, (rank) => (rank === 0 ? { tuning: JSON.stringify(old) } : {}));
  try {
    for (const comm of comms) {
      assert.equal(comm.config.tuning?.params.betaCurve, []);
      assert.is(comm.config.tuning?.params.beta, 3e-9);
    }
    const warned = warnings.filter((line) => / WARN /.test(line));
    assert.is(warned.length, 1, warnings.join('\n'));
    assert.match(warned[0]!, /has no betaCurve \(calibrated by an older webccl\); using the defaults for it/);
    await sums(comms);
  } finally {
    await close(comms);
  }
});

test.after(() => {
  console.error = consoleError;
  rmSync(dir, { recursive: true, force: true });
});

test.run();
