// Choosing by measurement: lib/tune/measure-choices.ts times each shape's candidates in shuffled
// rounds and takes the least of the medians agreed over the ranks; Communicator.tune() (lib/comm/
// tuned-calls.ts) does that for the call shapes a program ran under 'auto' (allreduce,
// reduce-scatter, all-gather, broadcast, reduce), and 'auto' then runs the fastest for them, the
// same on every rank, with exact results.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Communicator, getUniqueId } from '../lib/index.node.js';
import { blockCalls, MAX_BLOCK_CALLS, measureChoices, nearestCandidates, PACE_CALLS, type MeasuringComm } from '../lib/tune/measure-choices.js';
import { turnOrder } from '../lib/tune/turn-order.js';
import { chooseAlgorithm, measuredKey } from '../lib/tune/select.js';
import { MAX_AUTO_SHAPES, AutoShapes } from '../lib/comm/tuned-calls.js';
import { rejects } from './helpers/assert.js';

/** One rank of a fake world: each algorithm's call advances the clock by its cost; a peer reports `peer` as its medians. */
function fakeComm(cost: Record<string, number>, peer?: readonly number[]) {
  let clock = 0;
  const runs: string[] = [];
  const comm: MeasuringComm<string> = {
    run: async (_shape, algorithm) => { runs.push(algorithm); clock += cost[algorithm]!; },
    maxAll: async (values) => Float32Array.from(values, (v, i) => Math.max(v, peer?.[i] ?? 0)),
    now: () => clock,
  };
  return { comm, runs };
}

/** The calls of `rounds` shuffled rounds (turn-order.ts): each block an untimed call and then `blocks[c]` timed ones. */
function roundsOf(candidates: readonly string[], blocks: readonly number[], rounds: number): string[] {
  return Array.from({ length: rounds }, (_, round) => turnOrder(round, candidates.length))
    .flatMap((order) => order.flatMap((c) => Array(1 + blocks[c]!).fill(candidates[c]!)));
}

test('measureChoices: pace calls, then rounds in shuffled orders, each block opened by an untimed call; the least agreed median wins', async () => {
  const { comm, runs } = fakeComm({ ring: 3, tree: 2, direct: 5 });
  const candidates = ['ring', 'tree', 'direct'];
  const [choice] = await measureChoices(comm, [{ shape: 's', candidates }], { warmCalls: 1, rounds: 3, blockSeconds: 0 });
  assert.equal(runs, [...candidates, ...roundsOf(candidates, [1, 1, 1], 3)]);
  assert.is(choice!.algorithm, 'tree');
  assert.equal(choice!.seconds.map((c) => c.algorithm), ['ring', 'tree', 'direct']);
  assert.equal(choice!.seconds.map((c) => c.seconds), [0.003, 0.002, 0.005].map(Math.fround));
});

test('measureChoices: the slowest rank\'s figures count (a candidate fast here but slow on a peer loses); a tie keeps the earlier candidate', async () => {
  const slowPeer = fakeComm({ ring: 3, tree: 2 }, [0.003, 0.004]);
  assert.is((await measureChoices(slowPeer.comm, [{ shape: 's', candidates: ['ring', 'tree'] }]))[0]!.algorithm, 'ring');
  const tie = fakeComm({ ring: 2, tree: 2 });
  assert.is((await measureChoices(tie.comm, [{ shape: 's', candidates: ['tree', 'ring'] }]))[0]!.algorithm, 'tree');
});

test('measureChoices: blocks of calls back to back, timed per call, each candidate\'s sized to blockSeconds by its quickest pace call (agreed as the largest over ranks), warmed by one block unless told', async () => {
  // Calls of 3 and 2 ms, 8 ms blocks: 3 calls of the ring, 4 of the tree.
  const { comm, runs } = fakeComm({ ring: 3, tree: 2 });
  const [choice] = await measureChoices(comm, [{ shape: 's', candidates: ['ring', 'tree'] }], { warmCalls: 1, rounds: 2, blockSeconds: 0.008 });
  assert.equal(runs, ['ring', 'tree', ...roundsOf(['ring', 'tree'], [3, 4], 2)]);
  assert.equal(choice!.seconds.map((c) => c.seconds), [0.003, 0.002].map(Math.fround));
  // A peer whose ring calls took 4 ms: blocks of 2 ring calls on every rank, 8 of the tree's.
  const slowPeer = fakeComm({ ring: 1, tree: 1 }, [0.004]);
  await measureChoices(slowPeer.comm, [{ shape: 's', candidates: ['ring', 'tree'] }], { warmCalls: 1, rounds: 1, blockSeconds: 0.008 });
  assert.equal(slowPeer.runs, ['ring', 'tree', ...roundsOf(['ring', 'tree'], [2, 8], 1)]);
  // By default PACE_CALLS of each are timed, and the warm-up is one block of each (those included).
  const byDefault = fakeComm({ ring: 1, tree: 1 });
  await measureChoices(byDefault.comm, [{ shape: 's', candidates: ['ring', 'tree'] }], { rounds: 1, blockSeconds: 0.005 });
  assert.equal(byDefault.runs, [...Array(PACE_CALLS).fill('ring'), ...Array(PACE_CALLS).fill('tree'), ...Array(5 - PACE_CALLS).fill('ring'), ...Array(5 - PACE_CALLS).fill('tree'), ...roundsOf(['ring', 'tree'], [5, 5], 1)]);
  // The quickest pace call counts: a first call 10x the next does not shrink the blocks.
  let first = true;
  const cold = fakeComm({ ring: 1, tree: 1 });
  const coldRun = cold.comm.run;
  cold.comm.run = async (shape, algorithm) => { await coldRun(shape, algorithm); if (first) { first = false; await coldRun(shape, algorithm); cold.runs.pop(); } };
  await measureChoices(cold.comm, [{ shape: 's', candidates: ['ring', 'tree'] }], { warmCalls: PACE_CALLS, rounds: 1, blockSeconds: 0.004 });
  assert.equal(cold.runs.slice(2 * PACE_CALLS), roundsOf(['ring', 'tree'], [4, 4], 1));
  // No warm-up: the model's price sizes the blocks.
  const priced = fakeComm({ ring: 1, tree: 1 });
  await measureChoices(priced.comm, [{ shape: 's', candidates: ['ring', 'tree'], predictedSeconds: 0.001 }], { warmCalls: 0, rounds: 1, blockSeconds: 0.003 });
  assert.equal(priced.runs, roundsOf(['ring', 'tree'], [3, 3], 1));
  assert.is(blockCalls(0.001, 0.005), 5);
  assert.is(blockCalls(0.003, 0.005), 2);
  assert.is(blockCalls(0.01, 0.005), 1);
  assert.is(blockCalls(1e-9, 0.005), MAX_BLOCK_CALLS);
  assert.is(blockCalls(undefined, 0.005), 1);
  assert.is(blockCalls(0, 0.005), 1);
});

test('measureChoices: a shape with one candidate is left out, untimed', async () => {
  const { comm, runs } = fakeComm({ ring: 1 });
  assert.equal(await measureChoices(comm, [{ shape: 's', candidates: ['ring'] }]), []);
  assert.equal(runs, []);
});

test('nearestCandidates: the incumbent first, then those within the margin of the fastest price in the model\'s order, at most the count', () => {
  const ranked = [{ algorithm: 'direct', seconds: 1 }, { algorithm: 'tree', seconds: 2 }, { algorithm: 'ring', seconds: 2.6 }, { algorithm: 'mesh', seconds: 2.4 }];
  assert.equal(nearestCandidates(ranked, 2.5, 3), ['direct', 'tree', 'mesh']);
  assert.equal(nearestCandidates(ranked, 2.5, 2), ['direct', 'tree']);
  assert.equal(nearestCandidates(ranked, 1.5, 3), ['direct']);
  assert.equal(nearestCandidates([], 2, 3), []);
  // What the call ran before comes first, timed even where the model prices it out.
  assert.equal(nearestCandidates(ranked, 2.5, 3, 'ring'), ['ring', 'direct', 'tree']);
  assert.equal(nearestCandidates(ranked, 1.5, 3, 'board'), ['board', 'direct']);
  assert.equal(nearestCandidates(ranked, 2.5, 3, 'tree'), ['tree', 'direct', 'mesh']);
});

test('AutoShapes: each key once, in call order, at most MAX_AUTO_SHAPES, none while unnoted', async () => {
  const shapes = new AutoShapes();
  const shape = { collective: 'allReduce', count: 1, call: { dtype: 'float32', op: 'sum' }, memory: 'cpu' } as const;
  shapes.note('a', shape);
  shapes.note('b', shape);
  shapes.note('a', { ...shape, count: 2 });
  await shapes.unnoted(async () => shapes.note('c', shape));
  assert.equal(shapes.entries().map(([key, s]) => [key, s.count]), [['a', 1], ['b', 1]]);
  for (let i = 0; i < 2 * MAX_AUTO_SHAPES; i++) shapes.note(`k${i}`, shape);
  assert.is(shapes.entries().length, MAX_AUTO_SHAPES);
});

async function world(size: number): Promise<Communicator[]> {
  const id = await getUniqueId({ transport: 'inproc' });
  return Promise.all(Array.from({ length: size }, (_, rank) => Communicator.init({ id, rank, size, chunkBytes: 65536 })));
}

interface Shape {
  readonly count: number;
  readonly dtype: 'float32' | 'int32';
  readonly op: 'sum' | 'max';
  readonly array: Float32ArrayConstructor | Int32ArrayConstructor;
}

const SHAPES: readonly [Shape, Shape, Shape] = [
  { count: 2, dtype: 'float32', op: 'sum', array: Float32Array },
  { count: 40000, dtype: 'float32', op: 'sum', array: Float32Array },
  { count: 1001, dtype: 'int32', op: 'max', array: Int32Array },
];

/** Every rank's allreduce of `shape` with small-integer inputs (exact in float32), checked against the serial result. */
async function checkedAllReduce(comms: readonly Communicator[], shape: Shape, options?: { algorithm: string }): Promise<void> {
  const input = (r: number) => {
    const values = new shape.array(shape.count);
    for (let i = 0; i < shape.count; i++) values[i] = ((i * 7 + r * 3) % 11) - 5;
    return values;
  };
  const inputs = comms.map((_, r) => input(r));
  const outs = comms.map(() => new shape.array(shape.count));
  await Promise.all(comms.map((comm, r) => comm.allReduce(inputs[r]!, outs[r]!, shape.count, shape.dtype, shape.op, options)));
  const expected = Array.from({ length: shape.count }, (_, i) => {
    const values = inputs.map((values) => values[i]!);
    return shape.op === 'sum' ? values.reduce((a, b) => a + b, 0) : Math.max(...values);
  });
  for (const out of outs) assert.equal(Array.from(out), expected);
}

test('tune(): every rank times the same candidates of each auto shape and keeps the same fastest; auto then runs it, exact; an explicit algorithm still wins', async () => {
  const comms = await world(4);
  try {
    for (const shape of SHAPES) await checkedAllReduce(comms, shape);
    await checkedAllReduce(comms, { ...SHAPES[0], count: 7 }, { algorithm: 'ring' }); // named: not tune()'s to time
    const before = SHAPES.map((s) => chooseAlgorithm('allReduce', s.count * 4, 4, comms[0]!.config, undefined, { dtype: s.dtype, op: s.op }).algorithm);
    const tuned = await Promise.all(comms.map((comm) => comm.tune({ warmCalls: 1, rounds: 3, blockSeconds: 0.002 })));
    for (const mine of tuned) assert.equal(mine, tuned[0]);
    const outcomes = tuned[0]!;
    assert.equal(outcomes.map((t) => [t.count, t.call.dtype, t.call.op, t.memory]), SHAPES.map((s) => [s.count, s.dtype, s.op, 'cpu']));
    assert.equal(outcomes.map((t) => t.previous), before);
    for (const outcome of outcomes) {
      assert.ok(outcome.seconds.length >= 2, JSON.stringify(outcome));
      assert.is(outcome.seconds[0]!.algorithm, outcome.previous, 'what auto ran before is always timed, first');
      const fastest = outcome.seconds.reduce((a, b) => (b.seconds < a.seconds ? b : a));
      assert.is(outcome.algorithm, fastest.algorithm);
      const call = outcome.call;
      for (const comm of comms) {
        assert.is(comm.config.measured?.[measuredKey('allReduce', outcome.bytes, 4, call)], outcome.algorithm);
        assert.is(chooseAlgorithm('allReduce', outcome.bytes, 4, comm.config, undefined, call).algorithm, outcome.algorithm);
        const other = outcome.seconds.find((c) => c.algorithm !== outcome.algorithm)!.algorithm;
        assert.is(chooseAlgorithm('allReduce', outcome.bytes, 4, comm.config, other, call).algorithm, other);
      }
    }
    for (const shape of SHAPES) await checkedAllReduce(comms, shape);
    // Nothing new since: nothing to time; `again` times them all again.
    assert.equal(await Promise.all(comms.map((comm) => comm.tune())), [[], [], [], []]);
    const again = await Promise.all(comms.map((comm) => comm.tune({ again: true, warmCalls: 0, rounds: 1, blockSeconds: 0.002 })));
    assert.is(again[0]!.length, SHAPES.length);
  } finally {
    await Promise.all(comms.map((comm) => comm.destroy()));
  }
});

/** Every rank's broadcast (root 2), reduce (sum to root 1), reduce-scatter (max) and all-gather of `count` small integers, checked against the serial results. */
async function checkedOthers(comms: readonly Communicator[], count: number): Promise<void> {
  const n = comms.length;
  const value = (r: number, i: number) => ((i * 5 + r * 3) % 13) - 6;
  const inputs = comms.map((_, r) => Float32Array.from({ length: count * n }, (_, i) => value(r, i)));
  const sum = (i: number) => inputs.reduce((a, input) => a + input[i]!, 0);
  const max = (i: number) => Math.max(...inputs.map((input) => input[i]!));
  const bcast = comms.map((_, r) => inputs[r]!.slice(0, count));
  const reduced = comms.map(() => new Float32Array(count));
  const scattered = comms.map(() => new Float32Array(count));
  const gathered = comms.map(() => new Float32Array(count * n));
  await Promise.all(comms.map((comm, r) => comm.broadcast(bcast[r]!, bcast[r]!, count, 'float32', 2)));
  await Promise.all(comms.map((comm, r) => comm.reduce(inputs[r]!, reduced[r]!, count, 'float32', 'sum', 1)));
  await Promise.all(comms.map((comm, r) => comm.reduceScatter(inputs[r]!, scattered[r]!, count, 'float32', 'max')));
  await Promise.all(comms.map((comm, r) => comm.allGather(inputs[r]!.subarray(0, count), gathered[r]!, count, 'float32')));
  for (let r = 0; r < n; r++) {
    assert.equal(Array.from(bcast[r]!), Array.from(inputs[2]!.subarray(0, count)), `broadcast rank ${r}`);
    assert.equal(Array.from(scattered[r]!), Array.from({ length: count }, (_, i) => max(r * count + i)), `reduceScatter rank ${r}`);
    assert.equal(Array.from(gathered[r]!), Array.from({ length: count * n }, (_, i) => value(Math.floor(i / count), i % count)), `allGather rank ${r}`);
  }
  assert.equal(Array.from(reduced[1]!), Array.from({ length: count }, (_, i) => sum(i)), 'reduce at the root');
}

test('tune(): broadcast and reduce shapes are timed too (ring against tree), and auto then runs the fastest, exact; one-schedule shapes are left out', async () => {
  const comms = await world(4);
  try {
    for (const count of [3, 20000]) await checkedOthers(comms, count);
    const tuned = await Promise.all(comms.map((comm) => comm.tune({ warmCalls: 1, rounds: 2, blockSeconds: 0.002 })));
    for (const mine of tuned) assert.equal(mine, tuned[0]);
    // reduceScatter and allGather have the ring alone without a board: nothing to choose.
    assert.equal(tuned[0]!.map((t) => [t.collective, t.count, t.call.op]), [['broadcast', 3, undefined], ['reduce', 3, 'sum'], ['broadcast', 20000, undefined], ['reduce', 20000, 'sum']]);
    for (const outcome of tuned[0]!) {
      assert.equal(outcome.seconds.map((c) => c.algorithm).sort(), ['ring', 'tree'], JSON.stringify(outcome));
      assert.is(outcome.seconds[0]!.algorithm, outcome.previous);
      for (const comm of comms) {
        assert.is(chooseAlgorithm(outcome.collective, outcome.bytes, 4, comm.config, undefined, outcome.call).algorithm, outcome.algorithm);
      }
    }
    for (const count of [3, 20000]) await checkedOthers(comms, count);
  } finally {
    await Promise.all(comms.map((comm) => comm.destroy()));
  }
});

test('tune(): ranks that ran different auto shapes or pass different options all fail with InvalidUsage before any timed call, and the communicator goes on; bad options are named', async () => {
  const comms = await world(3);
  try {
    const shape = SHAPES[1];
    // Rank 0 names the algorithm auto runs on the others: the same call everywhere, noted on two ranks only.
    const algorithm = chooseAlgorithm('allReduce', shape.count * 4, 3, comms[0]!.config, undefined, { dtype: shape.dtype, op: shape.op }).algorithm;
    const data = comms.map(() => new Float32Array(shape.count).fill(1));
    await Promise.all(comms.map((comm, r) => comm.allReduce(data[r]!, data[r]!, shape.count, 'float32', 'sum', r === 0 ? { algorithm } : undefined)));
    const outcomes = await Promise.allSettled(comms.map((comm) => comm.tune()));
    for (const outcome of outcomes) {
      assert.is(outcome.status, 'rejected');
      const error = (outcome as PromiseRejectedResult).reason as Error & { code: string };
      assert.is(error.code, 'InvalidUsage');
      assert.match(error.message, /tune\(\): the ranks have run different call shapes under 'auto' since the last tune\(\) \(\d here\), or passed different options/);
    }
    await checkedAllReduce(comms, SHAPES[2]);
    // The same calls, different options: every rank fails alike.
    const options = await Promise.allSettled(comms.map((comm, r) => comm.tune({ rounds: r === 1 ? 2 : 3 })));
    for (const outcome of options) assert.match(String((outcome as PromiseRejectedResult).reason), /or passed different options/);
    await rejects(comms[0]!.tune({ rounds: 0 }), /tune\(\): rounds 0 is not an integer >= 1/);
    await rejects(comms[0]!.tune({ margin: Number.NaN }), /tune\(\): margin NaN is not a number >= 1/);
    await rejects(comms[0]!.tune({ candidates: 1 }), /tune\(\): candidates 1 is not an integer >= 2/);
    await rejects(comms[0]!.tune({ warmCalls: 1.5 }), /tune\(\): warmCalls 1.5 is not an integer >= 0/);
    await rejects(comms[0]!.tune({ blockSeconds: -1 }), /tune\(\): blockSeconds -1 is not a number >= 0/);
    await checkedAllReduce(comms, SHAPES[2]);
    comms[0]!.groupStart();
    await rejects(comms[0]!.tune(), /tune cannot be called inside a group/);
    await comms[0]!.groupEnd();
  } finally {
    await Promise.all(comms.map((comm) => comm.destroy()));
  }
});

test('tune(): a world of one has nothing to choose', async () => {
  const [comm] = await world(1);
  try {
    await comm!.allReduce(new Float32Array(4), new Float32Array(4), 4, 'float32', 'sum');
    assert.equal(await comm!.tune(), []);
  } finally {
    await comm!.destroy();
  }
});

test.run();
