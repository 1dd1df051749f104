// Each schedule's fixed-part offset (CostParams.fixedOffsets): carried by the tuning file (an
// older file without it loads, offset 0), checked like every field, and priced by fixedSeconds on
// allreduces only. Calibration's side is in tune-calibrate-sim. Structure, no timings.
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
  // Other collectives' hops were never timed: the shared fit alone.
  near(fixedSeconds('tree', traffic, withOffsets, 'broadcast'), shared);
  near(fixedSeconds('tree', traffic, { ...withOffsets, fixedOffsets: { tree: -1 } }, 'allReduce'), 0);
  assert.match(fixedOffsetsText(withOffsets), /tree -150\.0?.*ring \+20/);
  assert.match(fixedOffsetsText(DEFAULT_COST_PARAMS), /no fixedOffsets/);
});

test.run();
