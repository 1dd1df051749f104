// Switch allreduce end to end over real UDP loopback: a software switch and 1-8 workers in
// this process. int32 sums are exact (with wrap-around); float32 sums are within the SwitchML
// codec's bound of a float64 oracle; avg divides; sizes 0, 1, odd, a packet, many windows.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SwitchServer } from '../lib/switch/switch-server.js';
import { float32Violation, int32Sum, joinJob, randomFloat32, randomInt32 } from './helpers/switch-job.js';
import { within } from './within.js';
import { PLANES } from './helpers/switch-planes.js';

for (const dataPlane of PLANES) {
  const test = suite(`${dataPlane} data plane`);
  // Started in before(), not awaited here: an await between two suites' run() lets uvu start
  // printing totals for the first before the second is queued (two totals, one miscounted).
  let server!: SwitchServer;
  test.before(async () => {
    server = await SwitchServer.start({ dataPlane, port: 0 });
  });
  const SIZES = [0, 1, 63, 64, 65, 1001, 70_000];

  for (const n of [1, 2, 3, 8]) {
    test(`${n} workers: int32 sums exact, float32 within the quantization bound, sizes ${SIZES.join(', ')}`, async () => {
      const workers = await joinJob(server, n);
      try {
        for (const count of SIZES) {
          const ints = workers.map((_, rank) => randomInt32(count, 100 * rank + count + 1));
          const intResults = await within(Promise.all(workers.map((w, rank) => w.allReduce(ints[rank]!))), 30_000, `int32 ${count}`);
          const want = int32Sum(ints);
          intResults.forEach((got, rank) => assert.equal(got, want, `rank ${rank}, count ${count}`));

          const floats = workers.map((_, rank) => randomFloat32(count, 7 * rank + count + 3));
          const floatResults = await within(Promise.all(workers.map((w, rank) => w.allReduce(floats[rank]!))), 30_000, `float32 ${count}`);
          floatResults.forEach((got, rank) => {
            assert.is(got.length, count);
            assert.is(float32Violation(floats, got, 64), undefined, `rank ${rank}, count ${count}`);
            assert.equal(got, floatResults[0], 'every rank ends with the same bits');
          });
        }
      } finally {
        for (const w of workers) w.close();
      }
    });
  }

  test('inPlace: the total is written over the input and resolved with it, the same bits as a new array', async () => {
    const workers = await joinJob(server, 3, { window: 16 });
    try {
      for (const count of [1, 1001, 70_000]) {
        const floats = workers.map((_, rank) => randomFloat32(count, 31 * rank + count));
        const fresh = await within(Promise.all(workers.map((w, rank) => w.allReduce(floats[rank]!))), 30_000, 'fresh');
        floats.forEach((input, rank) => assert.equal(input, randomFloat32(count, 31 * rank + count), `count ${count}: a plain call leaves its input`));
        const inPlace = await within(Promise.all(workers.map((w, rank) => w.allReduce(floats[rank]!, 'sum', { inPlace: true }))), 30_000, 'in place');
        inPlace.forEach((got, rank) => {
          assert.ok(got === floats[rank], 'resolved with the input array');
          assert.equal(got, fresh[rank], `count ${count}, rank ${rank}`);
        });
        const ints = workers.map((_, rank) => randomInt32(count, 17 * rank + count));
        const want = int32Sum(ints);
        const intsInPlace = await within(Promise.all(workers.map((w, rank) => w.allReduce(ints[rank]!, 'sum', { inPlace: true }))), 30_000, 'int32 in place');
        intsInPlace.forEach((got, rank) => assert.ok(got === ints[rank] && got.every((v, i) => v === want[i]), `int32 count ${count}, rank ${rank}`));
      }
    } finally {
      for (const w of workers) w.close();
    }
  });

  test('avg: int32 truncates the wrapped sum / n; float32 divides the dequantized sum', async () => {
    const workers = await joinJob(server, 3);
    try {
      const ints = [new Int32Array([7, -7, 1]), new Int32Array([1, 0, 1]), new Int32Array([0, 0, 1])];
      const got = await within(Promise.all(workers.map((w, r) => w.allReduce(ints[r]!, 'avg'))), 10_000, 'avg');
      for (const g of got) assert.equal(Array.from(g), [2, -2, 1]);
      const floats = workers.map((_, r) => randomFloat32(300, r + 50));
      const favg = await within(Promise.all(workers.map((w, r) => w.allReduce(floats[r]!, 'avg'))), 10_000, 'float avg');
      for (const g of favg) assert.is(float32Violation(floats, g, 64, 3), undefined);
    } finally {
      for (const w of workers) w.close();
    }
  });

  test('larger packets: size class 3 (256 values, SwitchML\'s large packet) and 6 (2048 values) with a small window', async () => {
    for (const [sizeClass, window] of [[3, 256], [6, 8]] as const) {
      const workers = await joinJob(server, 4, { sizeClass, window });
      try {
        const values = 32 << sizeClass;
        const floats = workers.map((_, r) => randomFloat32(20_000, r + sizeClass));
        const got = await within(Promise.all(workers.map((w, r) => w.allReduce(floats[r]!))), 30_000, `class ${sizeClass}`);
        for (const g of got) assert.is(float32Violation(floats, g, values), undefined);
        const ints = workers.map((_, r) => randomInt32(20_000, r + 9));
        const igot = await within(Promise.all(workers.map((w, r) => w.allReduce(ints[r]!))), 30_000, `class ${sizeClass} int`);
        for (const g of igot) assert.equal(g, int32Sum(ints));
      } finally {
        for (const w of workers) w.close();
      }
    }
  });

  test('NaN or Inf in a float32 input turns its half packet into NaN on every rank (the codec\'s policy); the rest is exact to the bound', async () => {
    const workers = await joinJob(server, 2);
    try {
      const a = randomFloat32(128, 1);
      const b = randomFloat32(128, 2);
      a[5] = Infinity;
      const got = await within(Promise.all([workers[0]!.allReduce(a), workers[1]!.allReduce(b)]), 10_000, 'nonfinite');
      for (const g of got) {
        assert.ok(g.subarray(0, 32).every(Number.isNaN), 'the half packet holding Inf is NaN');
        assert.ok(g.subarray(32).every(Number.isFinite));
      }
    } finally {
      for (const w of workers) w.close();
    }
  });

  test('float32 calls of at least W chunks send each packet once (the data of q - W and the exponents of q are one packet)', async () => {
    const workers = await joinJob(server, 2, { window: 16 });
    try {
      const chunks = 100;
      const floats = workers.map((_, r) => randomFloat32(64 * chunks, r + 3));
      const got = await within(Promise.all(workers.map((w, r) => w.allReduce(floats[r]!))), 30_000, 'float32');
      for (const g of got) assert.is(float32Violation(floats, g, 64), undefined);
      // chunks + L packets, L = min(W, chunks) = 16; a packet offered twice would be sent twice.
      for (const w of workers) assert.is(w.counters.sent, chunks + 16, `worker sent ${w.counters.sent}`);
    } finally {
      for (const w of workers) w.close();
    }
  });

  test('exponents-only lead packets (offered in the welcome) give the same bits as full ones (a switch that does not offer them, as SwitchML\'s hardware)', async () => {
    const plain = await SwitchServer.start({ dataPlane, port: 0, exponentsOnly: false });
    const offered = await joinJob(server, 3, { window: 16 });
    const full = await joinJob(plain, 3, { window: 16 });
    try {
      assert.equal([offered[0]!.welcome.exponentsOnly, full[0]!.welcome.exponentsOnly], [true, undefined]);
      // 10 chunks (L = 10 lead packets) and 100 chunks (L = W = 16), float32 sum and avg.
      for (const [length, op] of [[64 * 10 - 3, 'sum'], [64 * 100, 'avg']] as const) {
        const floats = offered.map((_, r) => randomFloat32(length, r + 40));
        const a = await within(Promise.all(offered.map((w, r) => w.allReduce(floats[r]!, op))), 30_000, 'exponents-only lead');
        const b = await within(Promise.all(full.map((w, r) => w.allReduce(floats[r]!, op))), 30_000, 'full lead');
        for (let r = 0; r < 3; r++) assert.equal(Array.from(a[r]!), Array.from(b[r]!), `rank ${r}, ${length} values, ${op}`);
      }
      for (const w of [...offered, ...full]) assert.is(w.counters.malformed, 0);
    } finally {
      for (const w of [...offered, ...full]) w.close();
      await plain.close();
    }
  });

  test('calls are serialized per worker and packet ids continue across calls', async () => {
    const workers = await joinJob(server, 2, { window: 4 });
    try {
      const calls = workers.map((w, r) => Promise.all([1, 2, 3].map((k) => w.allReduce(new Int32Array(300).fill(k * (r + 1))))));
      const got = await within(Promise.all(calls), 10_000, 'three calls');
      for (const perRank of got) perRank.forEach((g, k) => assert.ok(g.every((v) => v === 3 * (k + 1))));
    } finally {
      for (const w of workers) w.close();
    }
  });

  test('bad arguments reject with InvalidArgument', async () => {
    const [w] = await joinJob(server, 1);
    try {
      const bad = await w!.allReduce(new Float64Array(3) as unknown as Int32Array).catch((e: Error) => e);
      assert.match((bad as Error).message, /InvalidArgument: switch allreduce takes an Int32Array or a Float32Array/);
      const op = await w!.allReduce(new Int32Array(3), 'max' as 'sum').catch((e: Error) => e);
      assert.match((op as Error).message, /supports sum and avg, not max/);
    } finally {
      w!.close();
    }
  });

  test.after(() => server.close());
  test.run();
}
