// bench/tune-sweep-report.ts: the sweep's error against each point's median round, the error
// beyond the rounds' own range, and the worst tenth grouped, on hand-made points.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { consistentBiases, pointStats, poolLines, reportLines, sizeBand, summarize, worstBy, type SweepPoint } from '../bench/tune-sweep-report.js';

const point = (algorithm: string, bytes: number, predictedUs: number, roundsUs: number[], transport = 'shm'): SweepPoint => ({ transport, ranks: 2, algorithm, bytes, predictedUs, roundsUs });

test('a point: error against the median round, spread slowest over fastest, error beyond the rounds\' range', () => {
  const inside = pointStats(point('ring', 8, 150, [100, 300, 120, 90, 110]));
  assert.is(inside.measuredUs, 110);
  assert.ok(Math.abs(inside.signed - 40 / 110) < 1e-12);
  assert.is(inside.spread, 300 / 90);
  assert.is(inside.beyond, 0, 'inside [90, 300]: noise, not the model');
  const over = pointStats(point('board', 8, 1000, [60, 80, 70]));
  assert.is(over.measuredUs, 70);
  assert.ok(Math.abs(over.beyond - 920 / 70) < 1e-12, `beyond ${over.beyond}`);
  const under = pointStats(point('tree', 8, 10, [60, 80, 70]));
  assert.ok(Math.abs(under.beyond - 50 / 70) < 1e-12);
  assert.ok(under.signed < 0);
});

test('the worst tenth is grouped by the key given, and the summary counts points inside their range', () => {
  const points = [
    ...Array.from({ length: 18 }, (_, i) => point('ring', 8 << i, 100, [95, 100, 105])),
    point('board', 8, 1000, [60, 80, 70]),
    point('direct', 1 << 20, 40, [100, 110, 400], 'tcp'),
  ].map(pointStats);
  assert.equal(sizeBand(8), '8B-8K');
  assert.equal(sizeBand(1 << 20), '1M-4M');
  const rows = worstBy(points, (p) => p.algorithm);
  assert.equal(rows.map((r) => r.key), ['board', 'direct']);
  assert.equal([rows[0]!.worst, rows[0]!.all], [1, 1]);
  assert.ok(rows[0]!.signed > 0 && rows[1]!.signed < 0);
  const s = summarize(points);
  assert.is(s.points, 20);
  assert.is(s.worst.algorithm, 'board');
  assert.is(s.inside, 18, 'the 18 ring points predicted at their median');
  const lines = reportLines(points).join('\n');
  assert.match(lines, /worst 10% \(2 points, error >= 64%\): 0 inside their own rounds' range \(noise\), 2 outside \(model\)/);
  assert.match(lines, /by algorithm: board 1\/1 \(\+1329%\), direct 1\/1 \(-64%\)/);
});

test('biases that hold in every run are reported, those whose sign flips between runs (noise) or that stay small are not', () => {
  const run = (ring: number, tree: number, direct: number) => [
    point('ring', 8, ring, [100, 100, 100]), point('ring', 32, ring, [100, 100, 100]),
    point('tree', 8, tree, [100, 100, 100]), point('direct', 8, direct, [100, 100, 100]),
  ].map(pointStats);
  const biases = consistentBiases([run(300, 160, 110), run(200, 40, 120), run(250, 170, 115)]);
  assert.equal(biases.map((b) => b.key), ['shm np2 ring 8B-8K'], 'tree flips sign, direct stays within 30%');
  assert.equal(biases[0]!.perRun, [2, 1, 1.5]);
  // An auto point is grouped by what auto ran.
  const auto = (ran: string) => [pointStats({ ...point('auto', 8, 50, [100, 100, 100]), ran })];
  assert.equal(consistentBiases([auto('board'), auto('board')]).map((b) => b.key), ['shm np2 auto=board 8B-8K']);
  assert.equal(consistentBiases([auto('board'), auto('direct')]), [], 'different picks are different groups, in no run both');
});

test('pooling two runs takes each point\'s mean of the two, not the worse one', () => {
  const run = (rounds: number[]) => [pointStats(point('ring', 8, 100, rounds)), pointStats(point('ring', 64, 100, rounds))];
  // Errors 0.25 (measured 80) and 0.75 (measured 400): pooled 0.5 for both points.
  const line = poolLines([run([80, 80, 80]), run([400, 400, 400])])[0]!;
  assert.match(line, /median 50%, 90th 50%, worst 50%/);
});

test.run();
