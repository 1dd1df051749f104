// webccl-perf --versus (bench/perf/versus.ts): the run's algorithm and the named ones timed in
// turns on the same ranks, each the median of its turns; every contender checked; the table's
// extra columns, the summary line and the JSON.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePerfArgs, type PerfOptions } from '../bench/perf/args.js';
import { runSweep, type PerfComm } from '../bench/perf/sweep.js';
import { HostStore } from '../bench/perf/store.js';
import { callsFilling, MAX_TURN_CALLS, raceInTurns, versusRatio, versusSummary } from '../bench/perf/versus.js';
import { PACE_CALLS } from '../lib/tune/measure-choices.js';
import { balancedRounds, turnOrder } from '../lib/tune/turn-order.js';
import { extraColumns, formatRow, tableHeader } from '../bench/perf/table.js';
import type { PerfReport } from '../bench/perf/report.js';
import type { ResultRow } from '../bench/perf/results.js';
import { perfSeries } from '../bench/perf/plot-series.js';
import { busBandwidth } from '../bench/perf/bandwidth.js';

function options(...argv: string[]): PerfOptions {
  const parsed = parsePerfArgs(argv);
  if (parsed === 'help' || parsed === 'version') throw new Error(parsed);
  return parsed;
}

const hostStores = (n: number) => new HostStore('float32', n);

test('args: --versus takes distinct algorithms that run the collective; --rounds a count; off by default', () => {
  const plain = options('allreduce');
  assert.equal([plain.versus, plain.rounds], [[], 5]);
  const raced = options('allreduce', '--versus', 'ring,tree,direct', '--rounds', '3');
  assert.equal([raced.versus, raced.rounds], [['ring', 'tree', 'direct'], 3]);
  assert.equal(options('allreduce', '--algo', 'ring', '--versus=auto,mesh').versus, ['auto', 'mesh']);
  assert.equal(options('broadcast', '--versus', 'ring,tree').versus, ['ring', 'tree']);
  assert.throws(() => options('allreduce', '--versus', 'ring,bubble'), /--versus must be one of .*got "bubble"/);
  assert.throws(() => options('allreduce', '--versus', 'ring,tree,ring'), /--versus names ring twice/);
  assert.throws(() => options('alltoall', '--versus', 'ring'), /--versus: alltoall has one schedule, no algorithm to choose/);
  assert.throws(() => options('broadcast', '--versus', 'tree,mesh'), /--versus: the mesh algorithm does not run broadcast/);
  assert.throws(() => options('allreduce', '--versus', 'ring', '--rounds', '0'), /--rounds needs an integer >= 1, got "0"/);
  assert.is(options('allreduce', '--versus', 'ring', '--turn-ms', '50').turnMs, 50);
  assert.is(plain.turnMs, 0);
  assert.throws(() => options('allreduce', '--rounds', '5'), /--rounds times the turns of --versus: name the algorithms to race with --versus A,B/);
  assert.throws(() => options('allreduce', '--turn-ms', '50'), /--turn-ms times the turns of --versus/);
});

test('turns: every contender once a round, in a Williams design: over balancedRounds every contender follows every other equally often, the same on every rank', () => {
  for (const count of [2, 3, 4, 5, 6]) {
    const rounds = balancedRounds(count);
    assert.is(rounds, count % 2 === 0 ? count : 2 * count);
    const follows = new Map<string, number>();
    for (let round = 0; round < rounds; round++) {
      const order = turnOrder(round, count);
      assert.equal([...order].sort(), Array.from({ length: count }, (_, i) => i), `${count} contenders, round ${round}`);
      assert.equal(turnOrder(round + rounds, count), order, 'a function of the round alone, repeating after balancedRounds');
      for (let i = 1; i < count; i++) follows.set(`${order[i - 1]}>${order[i]}`, (follows.get(`${order[i - 1]}>${order[i]}`) ?? 0) + 1);
    }
    // Every ordered pair of two contenders is adjacent, each as often as the others.
    assert.is(follows.size, count * (count - 1), `${count} contenders: ${[...follows.keys()]}`);
    assert.is(new Set(follows.values()).size, 1, `${count} contenders: ${[...follows.values()]}`);
  }
  // 3 contenders (auto and two named), 5 rounds: auto's and each column's predecessors spread, none 3 times.
  const before = (who: number) => [0, 1, 2, 3, 4].map((round) => turnOrder(round, 3)).map((order) => order[order.indexOf(who) - 1]).filter((w) => w !== undefined);
  for (const who of [0, 1, 2]) for (const other of [0, 1, 2]) assert.ok(before(who).filter((w) => w === other).length <= 2, `${who} after ${other}`);
  assert.equal(turnOrder(0, 1), [0]);
});

test('race: each contender\'s median turn in µs per call, a barrier and an untimed call before every turn, the first one\'s bytes per call', async () => {
  const events: string[] = [];
  let sent = 0;
  const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
  // Contender a's timed calls sleep 0.5 ms, then 4.5 ms (its second turn), then 1 ms: the median turn is not the slow one; b's are steady.
  const aTurns = [0.5, 4.5, 1];
  let aTurn = -1;
  let aInTurn = 0;
  const a = async () => {
    events.push('a'); sent += 10;
    if (events.at(-2) === '|') { aTurn++; aInTurn = 0; return; }
    aInTurn++;
    await sleep(aTurns[aTurn]!);
  };
  const b = async () => { events.push('b'); sent += 1000; await sleep(1); };
  const race = await raceInTurns([a, b], 3, [2, 2], { barrier: async () => { events.push('|'); }, bytesSent: () => sent });
  const expected = [0, 1, 2].map((round) => turnOrder(round, 2).map((who) => '|' + (who === 0 ? 'aaa' : 'bbb')).join('')).join('');
  assert.is(events.join(''), expected);
  assert.is(race.firstBytesPerCall, 10, 'only the first contender\'s timed calls count for the wire column');
  assert.ok(race.medianUs[0]! >= 900 && race.medianUs[0]! < 4000, `a: ${race.medianUs[0]} µs (the 4.5 ms turn is not the median)`);
  assert.ok(race.medianUs[1]! >= 1000, `b: ${race.medianUs[1]} µs`);
});

test('--turn-ms: each contender\'s calls per turn fill the time at its own pace, the slowest rank\'s, at least one', async () => {
  const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
  // This rank's calls take ~2 ms and ~20 ms; the other rank (allGather's second half) reports 30 ms for the first.
  // One slow call of the first (50 ms) is not its pace: the quickest of PACE_CALLS counts.
  let first = 0;
  const firstCall = () => sleep(first++ === 0 ? 50 : 2);
  const comm = {
    size: 2,
    allGather: async (mine: Float32Array) => { const all = new Float32Array(4); all.set(mine); all.set([30, 1], 2); return all; },
  };
  const counts = await callsFilling(comm, [firstCall, () => sleep(20)], 300);
  assert.is(first, PACE_CALLS);
  assert.is(counts[0], 10, 'the other rank\'s 30 ms: 300 / 30 -> 10 calls');
  assert.ok(counts[1]! >= 5 && counts[1]! <= 20, `${counts[1]} calls of ~20 ms (a timer may fire a little early)`);
  const quick = await callsFilling({ size: 1, allGather: async (mine: Float32Array) => mine }, [async () => {}], 1e9);
  assert.is(quick[0], MAX_TURN_CALLS);
  const slow = await callsFilling({ size: 1, allGather: async (mine: Float32Array) => mine }, [() => sleep(5)], 1);
  assert.is(slow[0], 1);
  const oneRank = await callsFilling({ size: 1, allGather: async (mine: Float32Array) => mine }, [firstCall], 300);
  assert.ok(oneRank[0]! >= 30, `${oneRank[0]} calls: the pace is the quick calls'`);
});

/** One rank (of one: the result is the input) whose collective records which algorithm ran it; `broken` never writes its output. */
function recordingComm(broken?: string) {
  const events: string[] = [];
  const comm: PerfComm = {
    rank: 0, size: 1,
    run: async (_shape, send, recv, algorithm) => {
      events.push(algorithm ?? 'own');
      if (broken === undefined || algorithm !== broken) (recv as Float32Array).set(send as Float32Array);
    },
    allGather: (async (values: Float32Array | Uint32Array) => values) as PerfComm['allGather'],
    barrier: async () => { events.push('|'); },
    bytesSent: () => 0,
  };
  return { comm, events };
}

const raced = ['allreduce', '-b', '8', '-e', '8', '-n', '2', '-w', '1', '--jit-warmup', '0', '--versus', 'ring,tree', '--rounds', '2'];

test('sweep: the rivals are checked, warmed and raced out of place only; in place is timed as before', async () => {
  const { comm, events } = recordingComm();
  const rows = await runSweep(comm, options(...raced), () => hostStores);
  const text = events.join(' ');
  // Out of place: check own, ring, tree; warm each (-w 1); 2 rounds of turns of 1 + 2 calls, shuffled.
  // In place: its check, -w 1, then one barrier and -n 2 calls of its own algorithm.
  const names = ['own', 'ring', 'tree'];
  const turns = [0, 1].flatMap((round) => turnOrder(round, 3).map((who) => `| ${names[who]} ${names[who]} ${names[who]}`));
  assert.is(text, `own ring tree own ring tree ${turns.join(' ')} own own | own own`);
  const row = rows[0]!;
  assert.equal(row.versus!.map((v) => v.algorithm), ['ring', 'tree']);
  assert.ok(row.versus!.every((v) => Number.isFinite(v.timeUs) && v.timeUs >= 0));
  assert.is(row.outOfPlace.wrong, 0);
  assert.is(row.inPlace.wrong, 0);
});

test('sweep: a rival that computes nothing is counted in the out-of-place #wrong', async () => {
  const { comm } = recordingComm('tree');
  const rows = await runSweep(comm, options(...raced), () => hostStores);
  assert.is(rows[0]!.outOfPlace.wrong, 2, 'its 2 elements keep their poison');
});

test('table: a column per rival and the ratio over the fastest; the summary line under the table', () => {
  const measurement = (timeUs: number) => ({ timeUs, algbw: 0, busbw: 0, wrong: 0 });
  const row = (bytes: number, own: number, ring: number, tree: number): ResultRow => ({
    bytes, count: bytes / 4, type: 'float', redop: 'sum', root: -1, outOfPlace: measurement(own), inPlace: measurement(own), runs: 'tree',
    versus: [{ algorithm: 'ring', timeUs: ring }, { algorithm: 'tree', timeUs: tree }],
  });
  const rows = [row(8, 50, 100, 40), row(1024, 90, 100, 120), row(1 << 20, 2000, 1000, 1500)];
  assert.is(versusRatio(50, rows[0]!.versus!), 1.25);
  const extras = extraColumns(options(...raced));
  assert.equal(extras.map((c) => c.name), ['predicted', 'runs', 'ring', 'tree', 'ratio']);
  const [, , names, units] = tableHeader(extras);
  assert.match(names!, /predicted {7}runs {7}ring {7}tree {4}ratio$/);
  assert.match(units!, /\(us\) {18}\(us\) {7}\(us\) {2}\(\/best\)$/, 'runs has no unit');
  assert.match(formatRow(rows[0]!, extras), /N\/A {7}tree {6}100\.0 {6}40\.00 {5}1\.25$/);
  assert.is(formatRow(rows[0]!, extras).length, names!.length, 'the cells line up with the header');
  assert.equal(versusSummary('auto', rows), ['# versus: auto\'s out-of-place time / the fastest of ring, tree, over 3 sizes: median 1.25, within 1.10 at 1 (of the 2 others, 1 ran the fastest one\'s algorithm), worst 2.00 at 1048576 B']);
  assert.equal(versusSummary('auto', rows.map(({ versus: _, ...plain }) => plain)), [], 'no line without --versus');
  // --plot: a line per raced algorithm beside the run's own.
  const facts = { ranks: 4, transport: 'tcp', algorithm: 'auto', mem: 'cpu' as const, device: 'cpu', bufferutil: false, prediction: '' };
  const series = perfSeries(facts, rows, 'allreduce');
  assert.equal(series.map((s) => s.name), ['auto tcp sum/float', 'ring tcp sum/float', 'tree tcp sum/float']);
  assert.is(series[1]!.points[2]!.busbw, busBandwidth('allreduce', 4, 1 << 20, 1000));
});

test('end to end: 3 in-process ranks, the header, the columns, #wrong 0, the JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webccl-versus-'));
  try {
    const json = join(dir, 'report.json');
    const run = spawnSync(process.execPath, ['--import', './test/register.mjs', 'bin/webccl-perf.ts', 'allreduce', '--np', '3', '--transport', 'inproc', '--mem', 'cpu',
      '-b', '8', '-e', '4K', '-f', '8', '-n', '2', '-w', '1', '--jit-warmup', '0', '--versus', 'ring,tree,direct,mesh', '--rounds', '3', '-J', json], { encoding: 'utf8', timeout: 60_000 });
    assert.is(run.status, 0, run.stderr);
    assert.match(run.stdout, /^# versus: out of place, auto and ring, tree, direct, mesh timed in turns on these ranks, 3 rounds of one untimed and 2 timed calls each, the order balanced over the rounds/m);
    assert.match(run.stdout, /^# versus: auto's out-of-place time \/ the fastest of ring, tree, direct, mesh, over 4 sizes: median [\d.]+, within 1\.10 at \d \(of the \d others, \d ran the fastest one's algorithm\), worst [\d.]+ at \d+ B$/m);
    assert.match(run.stdout, /# Out of bounds values : 0 OK/);
    assert.ok(existsSync(json));
    const report = JSON.parse(readFileSync(json, 'utf8')) as PerfReport;
    assert.equal(report.webccl.versus, { algorithms: ['ring', 'tree', 'direct', 'mesh'], rounds: 3, turn_ms: 0 });
    // Uncalibrated, auto keeps the size thresholds: the direct exchange for these few bytes.
    assert.equal(report.webccl.algorithms_run, Array(4).fill('direct'));
    assert.equal(report.results.map((r) => Object.keys(r.versus_times ?? {})), Array(4).fill(['ring', 'tree', 'direct', 'mesh']));
    assert.ok(report.results.every((r) => Object.values(r.versus_times!).every((us) => us > 0)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
