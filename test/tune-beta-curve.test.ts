// β by size (params.betaCurve): how the model reads the curve (betaAt), what it changes in a
// prediction (host calls at mid sizes, not GPU calls or sizes past the curve), how calibration
// builds it from its runs (curveOf), and how a file's curve is checked. Structure, no timings.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { callTraffic, betaAt, predictSeconds } from '../lib/tune/model.js';
import { curveOf, curvesByAlgorithm, lowerFit, type Sample } from '../lib/tune/calibrate.js';
import { checkCostParams, DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';

const flat: CostParams = { ...DEFAULT_COST_PARAMS, alpha: 60e-6, overhead: 40e-6, beta: 4e-9, gamma: 0.5e-9 };
// Mid sizes a quarter of the large ones' per-byte cost, as in-cache calls ran on this machine.
const curved: CostParams = { ...flat, betaCurve: [{ linkBytes: 64 << 10, beta: 1e-9 }, { linkBytes: 1 << 20, beta: 1e-9 }, { linkBytes: 16 << 20, beta: 4e-9 }] };
const call = (bytes: number, ranks: number) => ({ collective: 'allReduce' as const, bytes, ranks, chunkBytes: 1 << 20 });
const linkBytes = (algorithm: string, bytes: number, ranks: number) => callTraffic(algorithm, call(bytes, ranks))!.linkBytes;

test('betaAt: beta without a curve; the first point below it, the last above; a rise linear in bytes between, a fall linear in log(bytes)', () => {
  assert.is(betaAt(flat, 12345), 4e-9);
  assert.is(betaAt(curved, 1), 1e-9);
  assert.is(betaAt(curved, 64 << 10), 1e-9);
  assert.is(betaAt(curved, 1 << 30), 4e-9);
  // Rising from 1 ns/B at 1 MiB to 4 at 16 MiB: 4 MiB is a fifth of the way in bytes (in log(bytes) it is halfway: 2.5 ns/B).
  assert.ok(Math.abs(betaAt(curved, 4 << 20) - 1.6e-9) < 1e-18, String(betaAt(curved, 4 << 20)));
  const steps = [1 << 20, 2 << 20, 4 << 20, 8 << 20, 16 << 20].map((bytes) => betaAt(curved, bytes));
  steps.slice(1).forEach((beta, i) => assert.ok(beta > steps[i]!, `${beta} after ${steps[i]}`));
  // 2 shm ranks' ring (one calibration): 0.38 ns/B at 4 MiB, 2.7 at 32 MiB; its 8 MiB calls ran at 0.41-0.50.
  const shm: CostParams = { ...flat, betaCurve: [{ linkBytes: 4 << 20, beta: 0.38e-9 }, { linkBytes: 32 << 20, beta: 2.7e-9 }] };
  assert.ok(Math.abs(betaAt(shm, 8 << 20) - (0.38e-9 + (4 / 28) * 2.32e-9)) < 1e-18, String(betaAt(shm, 8 << 20)));
  // Falling from 4 ns/B at 64 KiB to 1 at 1 MiB: 256 KiB is halfway in log(bytes), halfway down.
  const falling: CostParams = { ...flat, betaCurve: [{ linkBytes: 64 << 10, beta: 4e-9 }, { linkBytes: 1 << 20, beta: 1e-9 }] };
  assert.ok(Math.abs(betaAt(falling, 256 << 10) - 2.5e-9) < 1e-18, String(betaAt(falling, 256 << 10)));
});

test('the curve lowers a mid-size host call by its link bytes times the difference in beta, and leaves large calls and GPU calls as they were', () => {
  for (const algorithm of ['ring', 'tree']) {
    const mid = 512 << 10;
    const saved = predictSeconds(algorithm, call(mid, 4), flat)! - predictSeconds(algorithm, call(mid, 4), curved)!;
    const expected = linkBytes(algorithm, mid, 4) * (flat.beta - betaAt(curved, linkBytes(algorithm, mid, 4)));
    assert.ok(saved > 0 && Math.abs(saved - expected) <= 1e-9 * expected, `${algorithm}: ${saved} vs ${expected}`);
    // Past the curve's last point: its beta, here the flat one.
    assert.is(predictSeconds(algorithm, call(64 << 20, 4), curved), predictSeconds(algorithm, call(64 << 20, 4), flat));
    // GPU memory keeps the one beta its GPU terms were fitted beyond.
    const gpu = { ...call(mid, 4), memory: 'gpu' as const };
    const withGpu = (p: CostParams): CostParams => ({ ...p, gpu: { call: 1e-4, message: 1e-5, stage: 1e-9, gamma: 1e-10 } });
    assert.is(predictSeconds(algorithm, gpu, withGpu(curved)), predictSeconds(algorithm, gpu, withGpu(flat)));
  }
  // Cheaper mid-size bytes move the ring/tree crossing, as a flat beta of that size would.
  assert.is(predictSeconds('ring', call(256 << 10, 4), curved), predictSeconds('ring', call(256 << 10, 4), { ...flat, beta: 1e-9 }));
});

type Terms = [number, number, number, number];

test('curveOf: each timed size gives its own beta (what its runs took beyond call, alpha and o per link byte), ascending; only the runs marked as points', () => {
  const fit: [number, number, number, number] = [30e-6, 80e-6, 20e-6, 0];
  const betaOfSize = new Map([[64 << 10, 0.5e-9], [1 << 20, 1e-9], [4 << 20, 3e-9]]);
  const sample = (bytes: number, terms: Terms, beta: number): Sample => ({
    terms, bytes, seconds: fit[0] + terms[1] * fit[1] + terms[2] * fit[2] + terms[3] * beta, point: bytes > 8,
  });
  const samples: Sample[] = [
    sample(8, [1, 6, 7, 12], 1e-6),
    ...[...betaOfSize].flatMap(([bytes, beta]) => [sample(bytes, [1, 6, 7, 1.5 * bytes], beta), sample(bytes, [1, 4, 9, 2 * bytes], beta)]),
  ];
  const curve = curveOf(samples, fit);
  assert.equal(curve.map((p) => p.linkBytes), [...betaOfSize.keys()].map((bytes) => 1.75 * bytes));
  curve.forEach((p, i) => assert.ok(Math.abs(p.beta - [...betaOfSize.values()][i]!) <= 1e-6 * p.beta, `${p.linkBytes}: ${p.beta}`));
  // Runs no slower than their fixed costs: their bytes cost nothing measurable (0, not negative).
  const quick = curveOf([{ terms: [1, 6, 7, 98304], bytes: 65536, seconds: 1e-6, point: true }], fit);
  assert.equal(quick, [{ linkBytes: 98304, beta: 0 }]);
  // A run that is not a point (a half chunk among the mid sizes, timed by its median) prices the one β only.
  assert.equal(curveOf([...samples, sample(512 << 10, [1, 6, 7, 786432], 9e-9)].map((s) => (s.bytes === 512 << 10 ? { ...s, point: false } : s)), fit), curve);
});

test("a file's betaCurve is checked point by point; a file without one keeps its beta at every size, and says so", () => {
  assert.equal(checkCostParams(JSON.parse(JSON.stringify(curved))), curved);
  const { betaCurve: _dropped, ...older } = curved;
  const missing: string[] = [];
  assert.equal(checkCostParams(older, missing).betaCurve, []);
  assert.ok(missing.includes('betaCurve'), String(missing));
  assert.throws(() => checkCostParams({ ...curved, betaCurve: 'steep' }), /betaCurve is not a list/);
  assert.throws(() => checkCostParams({ ...curved, betaCurve: [{ linkBytes: 2048, beta: 1e-9 }, { linkBytes: 1024, beta: 1e-9 }] }), /betaCurve\[1\]\.linkBytes 1024 does not follow 2048/);
  assert.throws(() => checkCostParams({ ...curved, betaCurve: [{ linkBytes: 0, beta: 1e-9 }] }), /betaCurve\[0\]\.linkBytes 0 is not a positive number/);
  assert.throws(() => checkCostParams({ ...curved, betaCurve: [{ linkBytes: 1024, beta: -1 }] }), /betaCurve\[0\]\.beta -1 is not a number of seconds/);
});

test("each schedule's own curve: curveOf of its runs alone, and the model prices that schedule with it (others with the pooled curve)", () => {
  const fit: [number, number, number, number] = [30e-6, 80e-6, 20e-6, 0];
  // Same link bytes, the tree's bytes cost 2x the ring's (2-rank trees at 8-32 MiB, bench/tune-sweep.ts).
  const perByte = new Map([['ring', 1e-9], ['tree', 2e-9]]);
  const samples: Sample[] = [4 << 20, 16 << 20].flatMap((bytes) => [...perByte].map(([algorithm, beta]): Sample => ({
    terms: [1, 6, 7, bytes], bytes, seconds: fit[0] + 6 * fit[1] + 7 * fit[2] + bytes * beta, point: true, algorithm,
  })));
  const curves = curvesByAlgorithm(samples, fit);
  assert.equal(Object.keys(curves), ['ring', 'tree']);
  for (const [algorithm, beta] of perByte) {
    assert.equal(curves[algorithm]!.map((p) => p.linkBytes), [4 << 20, 16 << 20]);
    curves[algorithm]!.forEach((p) => assert.ok(Math.abs(p.beta - beta) <= 1e-6 * beta, `${algorithm} ${p.linkBytes}: ${p.beta}`));
  }
  // Pooled, both schedules get the mean: the ring over-priced, the tree under.
  curveOf(samples, fit).forEach((p) => assert.ok(Math.abs(p.beta - 1.5e-9) <= 1e-6 * 1.5e-9, String(p.beta)));
  const pooled: CostParams = { ...flat, betaCurve: curveOf(samples, fit) };
  const own: CostParams = { ...pooled, betaCurves: curves };
  const big = call(16 << 20, 2);
  for (const [algorithm, beta] of perByte) {
    const bytesCost = predictSeconds(algorithm, big, own)! - predictSeconds(algorithm, big, { ...own, betaCurve: [], betaCurves: {}, beta: 0 })!;
    assert.ok(Math.abs(bytesCost - linkBytes(algorithm, 16 << 20, 2) * beta) <= 1e-6 * bytesCost, `${algorithm}: ${bytesCost}`);
  }
  assert.ok(predictSeconds('tree', big, own)! > 1.2 * predictSeconds('ring', big, own)!, 'the tree, slower per byte, is priced so');
  assert.is(betaAt(pooled, 16 << 20, 'tree'), betaAt(pooled, 16 << 20, 'ring'), 'pooled: the same link bytes, the same price per byte');
  // A schedule without its own curve (the direct exchange) keeps the pooled one.
  assert.is(betaAt(own, 1 << 20, 'direct'), betaAt(pooled, 1 << 20));
  assert.is(betaAt(own, 1 << 20, 'tree'), 2e-9);
});

test('curveOf: a lower-quartile point is priced beyond the few-byte runs\' lower quartiles, not their medians', () => {
  // Medians of the few-byte runs: 100 us a call; their lower quartiles: 60 us. A 64 KiB point's lower quartile: 60 us + 1 ns/B.
  const fit: [number, number, number, number] = [100e-6, 0, 0, 1e-9];
  const few: Sample[] = [[1, 1, 1, 0], [1, 2, 3, 0]].map((terms) => ({ terms: terms as Terms, seconds: 60e-6, bytes: 8, lower: true }));
  const point: Sample = { terms: [1, 0, 0, 65536], seconds: 60e-6 + 65536e-9, bytes: 65536, point: true, lower: true, algorithm: 'ring' };
  const lower = lowerFit([...few, point], fit);
  assert.ok(Math.abs(lower[0] - 60e-6) <= 1e-12, String(lower));
  const [own] = curveOf([...few, point], fit, undefined, lower);
  assert.ok(Math.abs(own!.beta - 1e-9) <= 1e-15, String(own!.beta));
  // Beyond the medians, the quartiles' 40 us gap came off its bytes: 0.39 ns/B.
  assert.ok(curveOf([...few, point], fit)[0]!.beta < 0.4e-9);
  // A median point (past the mid sizes) keeps the medians' fixed costs.
  const median: Sample = { ...point, seconds: 100e-6 + 65536e-9, lower: false };
  assert.ok(Math.abs(curveOf([median], fit, undefined, lower)[0]!.beta - 1e-9) <= 1e-15);
  assert.equal(curvesByAlgorithm([...few, point], fit, lower), { ring: curveOf([...few, point], fit, 'ring', lower) });
});

test("a file's betaCurves are checked curve by curve; a file without them prices every schedule with betaCurve, and says so", () => {
  const withOwn: CostParams = { ...curved, betaCurves: { ring: curved.betaCurve, tree: [{ linkBytes: 1 << 20, beta: 2e-9 }] } };
  assert.equal(checkCostParams(JSON.parse(JSON.stringify(withOwn))), withOwn);
  const { betaCurves: _dropped, ...older } = withOwn;
  const missing: string[] = [];
  assert.equal(checkCostParams(older, missing).betaCurves, {});
  assert.ok(missing.includes('betaCurves'), String(missing));
  assert.throws(() => checkCostParams({ ...withOwn, betaCurves: [] }), /betaCurves is not an object/);
  assert.throws(() => checkCostParams({ ...withOwn, betaCurves: { spiral: [] } }), /betaCurves names 'spiral', which is no algorithm/);
  assert.throws(() => checkCostParams({ ...withOwn, betaCurves: { tree: [{ linkBytes: 2048, beta: 1e-9 }, { linkBytes: 1024, beta: 1e-9 }] } }), /betaCurves\.tree\[1\]\.linkBytes 1024 does not follow 2048/);
});

test("a file's rootedCurves are checked as betaCurves are and price the tree's broadcast and reduce, not its allreduce; a file without them prices those on the tree's own curve, unnamed (only a world that broadcast has them)", () => {
  const rooted: CostParams = { ...curved, betaCurves: { tree: [{ linkBytes: 1 << 20, beta: 10e-9 }] }, rootedCurves: { tree: [{ linkBytes: 8 << 20, beta: 7.5e-9 }] } };
  assert.equal(checkCostParams(JSON.parse(JSON.stringify(rooted))), rooted);
  const { rootedCurves: _dropped, ...older } = rooted;
  const missing: string[] = [];
  assert.is(checkCostParams(older, missing).rootedCurves, undefined);
  assert.not.ok(missing.includes('rootedCurves'), String(missing));
  assert.throws(() => checkCostParams({ ...rooted, rootedCurves: 3 }), /rootedCurves is not an object/);
  assert.throws(() => checkCostParams({ ...rooted, rootedCurves: { spiral: [] } }), /rootedCurves names 'spiral', which is no algorithm/);
  assert.throws(() => checkCostParams({ ...rooted, rootedCurves: { tree: [{ linkBytes: -1, beta: 1e-9 }] } }), /rootedCurves\.tree\[0\]/);
  for (const collective of ['broadcast', 'reduce', 'allReduce'] as const) {
    const beta = collective === 'allReduce' ? 10e-9 : 7.5e-9;
    assert.is(betaAt(rooted, 4 << 20, 'tree', collective), beta, collective);
    assert.is(betaAt(older, 4 << 20, 'tree', collective), 10e-9, `${collective} without rootedCurves`);
  }
  // The ring has no rooted curve: its broadcast keeps its own (here the pooled) curve.
  assert.is(betaAt(rooted, 4 << 20, 'ring', 'broadcast'), betaAt(rooted, 4 << 20, 'ring', 'allReduce'));
});

test.run();
