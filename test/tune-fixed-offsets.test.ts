// Each schedule's fixed-part offset (CostParams.fixedOffsets, the rooted collectives'
// rootedOffsets and the allreduce's halves' halfOffsets): carried by the tuning file (an older file
// without them loads, offset 0), checked like every field, and priced by fixedSeconds, fixedOffsets
// on allreduces only, rootedOffsets on broadcasts and reduces, halfOffsets on reduce-scatters and
// all-gathers. Calibration's side is in tune-calibrate-sim. Structure, no timings.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fixedOffsetsText } from '../bench/perf/explain.js';
import { fixedSeconds, predictSeconds } from '../lib/tune/model.js';
import { DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';
import { readTuning, tuningFileText } from '../lib/tune/tuning-file.js';

const world = { size: 4, transport: 'tcp', device: 'cpu' };
const offsets = { tree: -150e-6, ring: 20e-6 };
const withOffsets: CostParams = { ...DEFAULT_COST_PARAMS, fixedOffsets: offsets };

test('the tuning file carries fixedOffsets: read back as written, and its digest differs from the same file without them', async () => {
  const read = await readTuning(tuningFileText(world, withOffsets, 1), 'new.json', world);
  assert.ok('tuning' in read, JSON.stringify(read));
  assert.equal(read.tuning.params.fixedOffsets, offsets);
  assert.is(read.stale, undefined);
  const old = await readTuning(tuningFileText(world, DEFAULT_COST_PARAMS, 1), 'old.json', world);
  assert.ok('tuning' in old, JSON.stringify(old));
  assert.not.equal(old.tuning.digest, read.tuning.digest);
});

test('a file without fixedOffsets (an older calibration) loads with no WARN and prices every schedule as before (offset 0)', async () => {
  const old = await readTuning(tuningFileText(world, DEFAULT_COST_PARAMS, 1), 'old.json', world);
  assert.ok('tuning' in old && old.stale === undefined, JSON.stringify(old));
  assert.is(old.tuning.params.fixedOffsets, undefined);
  const call = { collective: 'allReduce' as const, bytes: 8, ranks: 4, chunkBytes: 1 << 20 };
  for (const algorithm of ['ring', 'tree', 'direct']) assert.is(predictSeconds(algorithm, call, old.tuning.params), predictSeconds(algorithm, call, DEFAULT_COST_PARAMS));
});

test('a bad fixedOffsets is the usual problem (the defaults), not a crash: not seconds, no algorithm, not an object', async () => {
  for (const [bad, message] of [[{ tree: 'fast' }, /fixedOffsets\.tree/], [{ nosuch: 1e-6 }, /nosuch/], [{ tree: -4000 }, /-3600/], [[1], /not an object/]] as const) {
    const text = tuningFileText(world, { ...DEFAULT_COST_PARAMS, fixedOffsets: bad as unknown as Record<string, number> }, 1);
    const read = await readTuning(text, 'bad.json', world);
    assert.ok('problem' in read && message.test(read.problem), JSON.stringify(read));
  }
});

test("fixedSeconds adds the schedule's own offset on allreduces only, never below 0; --explain names the offsets", () => {
  const traffic = { messages: 4, sends: 3 };
  const shared = DEFAULT_COST_PARAMS.call + 4 * DEFAULT_COST_PARAMS.alpha + 3 * DEFAULT_COST_PARAMS.overhead;
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-12, `${a} vs ${b}`);
  near(fixedSeconds('tree', traffic, withOffsets), shared - 150e-6);
  near(fixedSeconds('tree', traffic, withOffsets, 'allReduce'), Math.max(0, shared - 150e-6));
  near(fixedSeconds('ring', traffic, withOffsets, 'allReduce'), shared + 20e-6);
  near(fixedSeconds('direct', traffic, withOffsets, 'allReduce'), shared);
  // Other collectives' hops were never timed: the shared fit alone (rootedOffsets below).
  near(fixedSeconds('tree', traffic, withOffsets, 'broadcast'), shared);
  near(fixedSeconds('tree', traffic, { ...withOffsets, fixedOffsets: { tree: -1 } }, 'allReduce'), 0);
  assert.match(fixedOffsetsText(withOffsets), /tree -150\.0?.*ring \+20/);
  assert.match(fixedOffsetsText(DEFAULT_COST_PARAMS), /no fixedOffsets/);
});

const rooted = { tree: -120e-6, ring: -40e-6 };
const withRooted: CostParams = { ...withOffsets, rootedOffsets: rooted };

/**
 * A tuning file with `field` (`withIt`) reads back as written and with another digest than one
 * without it (`without`, an older file: no WARN, the field absent); each of `bads` is the usual
 * problem, its message as given.
 */
async function fileCarries(field: 'rootedOffsets' | 'halfOffsets', withIt: CostParams, without: CostParams, bads: readonly (readonly [unknown, RegExp])[]): Promise<void> {
  const read = await readTuning(tuningFileText(world, withIt, 1), 'new.json', world);
  assert.ok('tuning' in read, JSON.stringify(read));
  assert.equal(read.tuning.params[field], withIt[field]);
  const older = await readTuning(tuningFileText(world, without, 1), 'old.json', world);
  assert.ok('tuning' in older && older.stale === undefined, JSON.stringify(older));
  assert.is(older.tuning.params[field], undefined);
  assert.not.equal(older.tuning.digest, read.tuning.digest);
  for (const [bad, message] of bads) {
    const problem = await readTuning(tuningFileText(world, { ...DEFAULT_COST_PARAMS, [field]: bad } as CostParams, 1), 'bad.json', world);
    assert.ok('problem' in problem && message.test(problem.problem), JSON.stringify(problem));
  }
}

test('the tuning file carries rootedOffsets: read back as written, its digest differs, and a bad one is the usual problem', () =>
  fileCarries('rootedOffsets', withRooted, withOffsets, [[{ tree: 'fast' }, /rootedOffsets\.tree/], [{ nosuch: 1e-6 }, /rootedOffsets names 'nosuch'/], [[1], /rootedOffsets is not an object/]]));

test("rootedOffsets price broadcasts and reduces (not allreduces, nor the ring's all-gather): a reduce's few bytes at what the broadcast's cost, whatever the fit's split of call and o; --explain names them", () => {
  const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-12, `${what}: ${a} vs ${b}`);
  const traffic = { messages: 2, sends: 3 };
  const shared = DEFAULT_COST_PARAMS.call + 2 * DEFAULT_COST_PARAMS.alpha + 3 * DEFAULT_COST_PARAMS.overhead;
  near(fixedSeconds('tree', traffic, withRooted, 'broadcast'), shared - 120e-6, 'broadcast');
  near(fixedSeconds('ring', traffic, withRooted, 'reduce'), shared - 40e-6, 'reduce');
  near(fixedSeconds('tree', traffic, withRooted, 'allReduce'), shared - 150e-6, 'the allreduce keeps its own');
  near(fixedSeconds('ring', traffic, withRooted, 'allGather'), shared, 'all-gather: none');
  // One fit puts the per-call cost in o, another in call: the tree reduce's inner rank sends one
  // message a chunk where the broadcast's root sends two, yet each few-byte reduce is priced as its broadcast.
  for (const split of [{ call: 0, overhead: 80e-6 }, { call: 200e-6, overhead: 0 }]) {
    const p: CostParams = { ...withRooted, ...split, alpha: 60e-6, beta: 0, gamma: 0 };
    for (const ranks of [2, 4, 8]) {
      for (const algorithm of ['tree', 'ring']) {
        const at = (collective: 'broadcast' | 'reduce') => predictSeconds(algorithm, { collective, bytes: 8, ranks, chunkBytes: 1 << 20, backToBack: true }, p)!;
        near(at('reduce'), at('broadcast'), `${ranks} ranks, ${algorithm}, o ${split.overhead}`);
      }
    }
    // Without rootedOffsets (an older file) the reduce is priced by the fit alone, as before.
    const { rootedOffsets: _, ...older } = p;
    const reduce = predictSeconds('tree', { collective: 'reduce', bytes: 8, ranks: 4, chunkBytes: 1 << 20, backToBack: true }, older)!;
    near(reduce, older.call + older.alpha + 2 * older.overhead, `older file, o ${split.overhead}`);
  }
  assert.match(fixedOffsetsText(withRooted), /broadcasts' and reduces' own .*tree -120\.0?.*ring -40/);
  assert.not.match(fixedOffsetsText(withOffsets), /broadcasts/);
});

const halves = { reduceScatter: { ring: -150e-6 }, allGather: { ring: -90e-6 } };
const withHalves: CostParams = { ...withRooted, halfOffsets: halves };

test('the tuning file carries halfOffsets: read back as written, its digest differs, and a bad one is the usual problem', () =>
  fileCarries('halfOffsets', withHalves, withRooted, [
    [{ reduceScatter: { ring: 'fast' } }, /halfOffsets\.reduceScatter\.ring/], [{ broadcast: { ring: 1e-6 } }, /halfOffsets names 'broadcast'/],
    [{ allGather: { nosuch: 1e-6 } }, /halfOffsets\.allGather names 'nosuch'/], [[1], /halfOffsets is not an object/],
  ]));

test("halfOffsets price the ring's reduce-scatters and all-gathers (each its own; not allreduces, nor broadcasts, nor a call with no message), never below 0; --explain names them", () => {
  const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-12, `${what}: ${a} vs ${b}`);
  const traffic = { messages: 3, sends: 3 };
  const shared = DEFAULT_COST_PARAMS.call + 3 * DEFAULT_COST_PARAMS.alpha + 3 * DEFAULT_COST_PARAMS.overhead;
  near(fixedSeconds('ring', traffic, withHalves, 'reduceScatter'), Math.max(0, shared - 150e-6), 'reduce-scatter');
  near(fixedSeconds('ring', traffic, withHalves, 'allGather'), Math.max(0, shared - 90e-6), 'all-gather');
  near(fixedSeconds('ring', traffic, withHalves, 'allReduce'), shared + 20e-6, 'the allreduce keeps its own');
  near(fixedSeconds('ring', traffic, withHalves, 'broadcast'), shared - 40e-6, 'the broadcast keeps its rooted one');
  near(fixedSeconds('ring', traffic, { ...withHalves, call: 0, alpha: 0, overhead: 0 }, 'reduceScatter'), 0, 'never below 0');
  // A call with no message (a zero count) pays none of what the few-byte calls' messages took.
  near(fixedSeconds('ring', { messages: 0, sends: 0 }, withHalves, 'allGather'), DEFAULT_COST_PARAMS.call, 'no message: no offset');
  // Without them (an older file) the halves are priced by the fit alone, as before.
  near(fixedSeconds('ring', traffic, withRooted, 'reduceScatter'), shared, 'older file');
  assert.match(fixedOffsetsText(withHalves), /reduceScatter's own .*ring -150\.0?.*allGather's own .*ring -90/);
  assert.not.match(fixedOffsetsText(withRooted), /reduceScatter/);
});

test.run();
