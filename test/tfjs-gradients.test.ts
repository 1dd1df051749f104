// allReduceGradients on TF.js's cpu backend over inproc ranks: the serial mean exactly (2 and 4
// ranks: dividing by a power of two is exact on small sums) and the sum at 3; codecs within the
// bounds the README states, identical on every rank; many small buckets give the same bits as
// one big one; the result keeps the caller's structure and leaves the inputs alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allReduceGradients } from '../lib/tfjs/gradients.js';
import { boundOf } from './helpers/compression-checks.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';
import { named, rankTensors, spy, tf, values } from './helpers/tfjs.js';

await tf.setBackend('cpu');

/** The float64 sum over ranks of each tensor's values. */
function serialSum(inputs: readonly Float32Array[][]): Float64Array[] {
  return inputs[0]!.map((_, t) => {
    const out = new Float64Array(inputs[0]![t]!.length);
    for (const rank of inputs) rank[t]!.forEach((v, i) => { out[i]! += v; });
    return out;
  });
}

for (const [size, op] of [[2, 'avg'], [4, 'avg'], [3, 'sum']] as const) {
  test(`${size} ranks, ${op}, no compression: equals the serial ${op} exactly, on every rank, inputs untouched`, async () => {
    const comms = await createWorld(size);
    try {
      const inputs = comms.map((_, r) => rankTensors(r, undefined, 1, true));
      const before = await Promise.all(inputs.map(values));
      const results = await Promise.all(comms.map((comm, r) => allReduceGradients(comm, named(inputs[r]!), { op })));
      const expected = serialSum(before).map((sum) => Float32Array.from(sum, (v) => (op === 'avg' ? v / size : v)));
      for (const [r, result] of results.entries()) {
        assert.equal(Object.keys(result), ['g0', 'g1', 'g2', 'g3', 'g4']);
        Object.values(result).forEach((t, i) => assert.equal(t.shape, inputs[r]![i]!.shape));
        assert.equal(await values(Object.values(result)), expected, `rank ${r}`);
      }
      assert.equal(await Promise.all(inputs.map(values)), before, 'inputs changed');
      for (const result of results) tf.dispose(result);
      tf.dispose(inputs.flat());
    } finally {
      await destroyWorld(comms);
    }
  });
}

test('buckets: 16-byte buckets make one allReduce per tensor (and the big one alone) with the same bits as one bucket', async () => {
  const comms = await createWorld(2);
  try {
    const spies = comms.map(spy);
    const inputs = comms.map((_, r) => rankTensors(r));
    const small = await Promise.all(comms.map((comm, r) => allReduceGradients(comm, inputs[r]!, { bucketBytes: 16 })));
    // One allGather (the agreement) and then: [3,5]=15 > 4 alone, [5] alone, [7,2,3] alone, [1] alone, [300] alone.
    assert.equal(spies[0]!.calls, ['allGather:host:6', ...[15, 5, 42, 1, 300].map((n) => `allReduce:host:${n}`)]);
    spies[0]!.calls.length = 0;
    const merged = await Promise.all(comms.map((comm, r) => allReduceGradients(comm, inputs[r]!, { bucketBytes: 4 * 64 })));
    // 15+5+42+1 = 63 elements fit in 64; the 300 do not.
    assert.equal(spies[0]!.calls, ['allGather:host:6', 'allReduce:host:63', 'allReduce:host:300']);
    spies[0]!.calls.length = 0;
    const one = await Promise.all(comms.map((comm, r) => allReduceGradients(comm, inputs[r]!)));
    assert.equal(spies[0]!.calls, ['allGather:host:6', 'allReduce:host:363']);
    for (let r = 0; r < 2; r++) {
      assert.equal(await values(small[r]!), await values(one[r]!));
      assert.equal(await values(merged[r]!), await values(one[r]!));
    }
    tf.dispose([...small.flat(), ...merged.flat(), ...one.flat(), ...inputs.flat()]);
  } finally {
    await destroyWorld(comms);
  }
});

for (const codec of ['bf16', 'int8']) {
  test(`${codec}: within the stated bound of the exact mean, bit-identical on every rank (3 ranks, 2 buckets)`, async () => {
    const size = 3;
    const comms = await createWorld(size);
    try {
      const inputs = comms.map((_, r) => rankTensors(r));
      const before = await Promise.all(inputs.map(values));
      const results = await Promise.all(comms.map((comm, r) => allReduceGradients(comm, inputs[r]!, { compression: codec, bucketBytes: 4 * 64 })));
      const got = await Promise.all(results.map(values));
      for (let r = 1; r < size; r++) assert.equal(got[r], got[0], `rank ${r} differs from rank 0`);
      const sums = serialSum(before);
      const magnitudes = before[0]!.map((_, t) => Float64Array.from(before[0]![t]!, (_, i) => before.reduce((a, rank) => a + Math.abs(rank[t]![i]!), 0)));
      const b = Math.max(...magnitudes.map((m) => Math.max(...m)));
      sums.forEach((sum, t) => sum.forEach((s, i) => {
        const bound = boundOf(codec, size, magnitudes[t]![i]!, b) / size;
        assert.ok(Math.abs(got[0]![t]![i]! - s / size) <= bound, `${codec} tensor ${t}[${i}]: ${got[0]![t]![i]} vs ${s / size} (bound ${bound})`);
      }));
      tf.dispose([...results.flat(), ...inputs.flat()]);
    } finally {
      await destroyWorld(comms);
    }
  });
}

test('onebit with an errorFeedback prefix: identical on every rank, and the residual carries over steps (sum of results tracks sum of means)', async () => {
  const size = 2;
  const comms = await createWorld(size);
  try {
    const steps = 20;
    const sent = new Float64Array(300);
    const exact = new Float64Array(300);
    for (let step = 1; step <= steps; step++) {
      const inputs = comms.map((_, r) => rankTensors(r, [[300]], step));
      const before = await Promise.all(inputs.map(values));
      const results = await Promise.all(comms.map((comm, r) => allReduceGradients(comm, inputs[r]!, { compression: 'onebit', errorFeedback: 'w' })));
      const got = await Promise.all(results.map(values));
      assert.equal(got[1], got[0]);
      got[0]![0]!.forEach((v, i) => { sent[i]! += v; exact[i]! += (before[0]![0]![i]! + before[1]![0]![i]!) / size; });
      tf.dispose([...results.flat(), ...inputs.flat()]);
    }
    // What was not sent is in the residuals, which stay bounded (each below one step's magnitude),
    // so the accumulated error is at most a few steps' worth, not `steps` of them.
    const worst = Math.max(...exact.map((e, i) => Math.abs(e - sent[i]!)));
    assert.ok(worst < 8, `accumulated onebit error ${worst}`);
    const residual = await comms[0]!.readErrorFeedback('w/0');
    assert.ok(residual && residual.length === 300, 'the bucket keeps its residual under prefix/0');
  } finally {
    await destroyWorld(comms);
  }
});

test('algorithm: the allReduce of every bucket runs with the given algorithm', async () => {
  const comms = await createWorld(2);
  try {
    const seen: unknown[] = [];
    for (const comm of comms) {
      const original = comm.allReduce.bind(comm);
      comm.allReduce = (...args: Parameters<typeof original>) => { seen.push(args[5]?.algorithm); return original(...args); };
    }
    const inputs = comms.map((_, r) => rankTensors(r));
    const results = await Promise.all(comms.map((comm, r) => allReduceGradients(comm, inputs[r]!, { algorithm: 'tree', bucketBytes: 4 * 64 })));
    assert.ok(seen.length >= 4, `${seen.length} allReduce calls`);
    assert.equal(new Set(seen), new Set(['tree']), 'the algorithm of every call');
    tf.dispose([...results.flat(), ...inputs.flat()]);
  } finally {
    await destroyWorld(comms);
  }
});

test.run();
