// Calibration's host timings (γ, the codec rates) are taken by one rank at a time while its peers
// wait in a barrier, not by every rank at once: on a host with fewer cores than ranks, ranks timing
// together (or polling in the first collective) preempt each other, and 8 shm ranks on 2 cores
// priced the int8 encoder 17-28x what 2 ranks did. Structure only, no timings: ranks of one world
// in this process, whose maxAll is a rendezvous that counts the ranks waiting in it, and a spy on
// the CPU reducer's fold (what γ times) that records how many peers were waiting at each fold.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { calibrate, inTurn, type CalibrationComm } from '../lib/tune/calibrate.js';
import { cpuReducer } from '../lib/cpu/cpu-reducer.js';

/** Ranks in one process: maxAll completes when every rank has made its k-th call; allreduces do nothing. */
class World {
  waiting = 0;
  /** Barriers completed so far. */
  generation = 0;
  private readonly pending: { values: Float32Array; resolve: (v: Float32Array) => void }[][] = [];
  private readonly calls: number[];

  constructor(readonly size: number) {
    this.calls = new Array<number>(size).fill(0);
  }

  comm(rank: number, oneHost?: boolean): CalibrationComm {
    return {
      rank, size: this.size, chunkBytes: 4096, ...(oneHost !== undefined && { oneHost }),
      allReduce: () => new Promise((resolve) => setImmediate(resolve)),
      maxAll: (values) => new Promise<Float32Array>((resolve) => {
        const k = this.calls[rank]!++;
        const joined = (this.pending[k] ??= []);
        joined.push({ values, resolve });
        this.waiting++;
        if (joined.length < this.size) return;
        this.waiting -= this.size;
        this.generation++;
        const max = values.map((_, i) => Math.max(...joined.map((j) => j.values[i]!)));
        for (const j of joined) j.resolve(Float32Array.from(max));
      }),
    };
  }
}

test('inTurn: each rank measures once alone, every peer waiting in the barrier, rank after rank, after one untimed pass of all', async () => {
  const world = new World(4);
  const log: { rank: number; waiting: number; generation: number }[] = [];
  const results = await Promise.all(Array.from({ length: 4 }, (_, rank) => inTurn(world.comm(rank), () => {
    log.push({ rank, waiting: world.waiting, generation: world.generation });
    return rank * 10 + log.length;
  })));
  // Past the first barrier: the timed turns.
  const quiet = log.filter((e) => e.generation > 0);
  assert.equal(quiet.map((e) => e.rank), [0, 1, 2, 3], 'the timed turns, one per rank, in rank order');
  assert.ok(quiet.every((e) => e.waiting === 3), `every peer in the barrier at each turn: ${JSON.stringify(quiet)}`);
  assert.equal(new Set(quiet.map((e) => e.generation)).size, 4, 'each turn between its own barriers');
  assert.equal(log.length, 8, 'one untimed pass per rank, then one timed');
  // Each rank keeps its own timed result (the quiet one), not the untimed pass's.
  assert.equal(results, quiet.map((e) => e.rank * 10 + log.indexOf(e) + 1));
});

test('inTurn on one rank: no barrier, the second (warm) measurement', async () => {
  let calls = 0;
  const comm = { rank: 0, size: 1, maxAll: () => { throw new Error('no barrier expected'); } };
  assert.is(await inTurn(comm, () => ++calls), 2);
});

test("calibrate times γ one rank at a time: every timed fold finds all its peers in a barrier", async () => {
  const world = new World(3);
  const reducer = cpuReducer();
  const accumulate = reducer.accumulate;
  const folds: { waiting: number; generation: number }[] = [];
  reducer.accumulate = function (this: typeof reducer, ...args: Parameters<typeof accumulate>) {
    folds.push({ waiting: world.waiting, generation: world.generation });
    return accumulate.apply(this, args);
  } as typeof accumulate;
  try {
    await Promise.all(Array.from({ length: 3 }, (_, rank) => calibrate(world.comm(rank))));
  } finally {
    reducer.accumulate = accumulate;
  }
  // localRate folds 4 times a measurement (1 warm-up, best of 3): the untimed pass of each rank, then each rank's turn alone.
  const quiet = folds.filter((f) => f.generation > 0);
  assert.is(folds.length, 2 * 3 * 4);
  assert.is(quiet.length, 3 * 4, 'the timed folds: past the first barrier');
  assert.ok(quiet.every((f) => f.waiting === 2), `every timed fold with both peers in the barrier: ${JSON.stringify(folds)}`);
  assert.is(new Set(quiet.map((f) => f.generation)).size, 3, 'three turns, each between its own barriers');
});

test('inTurn on one host: rank 0 alone measures, untimed then timed, every peer waiting in the barrier; the peers get nothing', async () => {
  const world = new World(4);
  const log: { rank: number; waiting: number; generation: number }[] = [];
  const results = await Promise.all(Array.from({ length: 4 }, (_, rank) => inTurn(world.comm(rank, true), () => {
    log.push({ rank, waiting: world.waiting, generation: world.generation });
    return log.length;
  })));
  assert.equal(log.map((e) => e.rank), [0, 0], 'rank 0 twice, no other rank');
  assert.ok(log.every((e) => e.waiting === 3 && e.generation === 1), `both between the first and second barrier, every peer waiting: ${JSON.stringify(log)}`);
  assert.equal(results, [2, undefined, undefined, undefined], 'rank 0 keeps its second (warm) measurement');
  assert.is(world.generation, 2, 'two barriers, every rank in both');
});

test('calibrate on one host: only rank 0 folds for γ, with every peer waiting, and every rank agrees on its figures', async () => {
  const world = new World(3);
  const reducer = cpuReducer();
  const accumulate = reducer.accumulate;
  const folds: { waiting: number }[] = [];
  reducer.accumulate = function (this: typeof reducer, ...args: Parameters<typeof accumulate>) {
    folds.push({ waiting: world.waiting });
    return accumulate.apply(this, args);
  } as typeof accumulate;
  let results;
  try {
    results = await Promise.all(Array.from({ length: 3 }, (_, rank) => calibrate(world.comm(rank, true))));
  } finally {
    reducer.accumulate = accumulate;
  }
  // localRate folds 4 times a measurement (1 warm-up, best of 3), rank 0 measures twice.
  assert.is(folds.length, 2 * 4, `rank 0's two measurements only: ${JSON.stringify(folds)}`);
  assert.ok(folds.every((f) => f.waiting === 2), 'every fold with both peers in the barrier');
  assert.ok(results[0]!.own.gamma > 0, 'rank 0 timed γ');
  assert.is(results[1]!.own.gamma, 0, 'rank 1 timed none');
  for (const r of results) {
    assert.is(r.params.gamma, Math.fround(results[0]!.own.gamma), 'every rank agrees on rank 0\'s γ');
    assert.is(r.params.codecs['int8']!.encode, Math.fround(results[0]!.own.codecs['int8']!.encode), 'and its codec rates');
  }
});

test('calibrate times no allreduce past 16 MiB, whatever the chunk (shm: 8 MiB)', async () => {
  const world = new World(2);
  const sizes = new Set<number>();
  await Promise.all([0, 1].map((rank) => calibrate({
    ...world.comm(rank), chunkBytes: 8 << 20,
    allReduce: (data) => { sizes.add(data.byteLength); return new Promise((resolve) => setImmediate(resolve)); },
  })));
  const largest = Math.max(...sizes);
  assert.is(largest, 16 << 20, `the largest run: ${largest} bytes (before: four chunks, 32 MiB, and sixteen, 128 MiB)`);
});

test.run();
