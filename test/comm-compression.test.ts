// Compressed allReduce on host memory over the inproc transport: every codec against the
// float64 oracle within its stated bound (test/helpers/compression-checks.ts), at 1-4 ranks,
// counts 0, 1, odd and large, ring, tree and the direct exchange, sum and avg; every rank
// ends with the same bits. onebit's error feedback loses nothing over steps. Mismatched
// compression across ranks is InvalidUsage; unsupported dtype/op or names are InvalidArgument.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CpuMemorySpace, CpuRegion } from '../lib/cpu/cpu-memory.js';
import { ONEBIT_CODEC } from '../lib/memory/codecs/onebit.js';
import { INT8_CODEC } from '../lib/memory/codecs/int8.js';
import { WebcclError } from '../lib/errors.js';
import { checkCompressed, compressionInput, runCompressed } from './helpers/compression-checks.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';

const BOUNDED = ['bf16', 'fp16', 'int8', 'switchml'] as const;
const COUNTS = [0, 1, 7, 1001, 70_001];

for (const size of [1, 2, 3, 4]) {
  test(`compressed allReduce: ${size} ranks, every bounded codec, counts ${COUNTS.join('/')}, ring/tree/direct, sum/avg`, async () => {
    const comms = await createWorld(size, { chunkBytes: 4096, directThresholdBytes: 256 });
    try {
      for (const codec of BOUNDED) {
        for (const count of COUNTS) {
          for (const algorithm of ['ring', 'tree', undefined]) {
            const op = count % 2 === 0 ? 'sum' : 'avg';
            await checkCompressed(comms, { codec, count, op, ...(algorithm && { algorithm }), inPlace: count !== 7 });
          }
        }
      }
    } finally {
      await destroyWorld(comms);
    }
  });
}

test('compressed allReduce: onebit results are bit-identical on every rank (ring, tree, direct)', async () => {
  const comms = await createWorld(4, { chunkBytes: 4096, directThresholdBytes: 256 });
  try {
    for (const count of [0, 1, 33, 1001, 70_001]) {
      for (const algorithm of ['ring', 'tree', undefined]) await runCompressed(comms, { codec: 'onebit', count, op: 'avg', ...(algorithm && { algorithm }) });
    }
  } finally {
    await destroyWorld(comms);
  }
});

test('error feedback (onebit, int8 with a key): Σ_t results + Σ_ranks residual = Σ_t Σ_ranks inputs (nothing lost over steps)', async () => {
  for (const [codec, size, algorithm] of [['onebit', 2, 'ring'], ['onebit', 3, 'ring'], ['onebit', 4, 'tree'], ['onebit', 3, 'auto'], ['int8', 3, 'ring'], ['int8', 4, 'tree']] as const) {
    const comms = await createWorld(size, { chunkBytes: 1024, directThresholdBytes: 64 });
    try {
      const count = algorithm === 'auto' ? 13 : 3001;
      const steps = 12;
      const sent = new Float64Array(count);
      const exact = new Float64Array(count);
      let magnitude = 0;
      for (let t = 0; t < steps; t++) {
        const inputs = comms.map((_, r) => compressionInput(r, count, t + 1));
        for (const x of inputs) x.forEach((v, i) => { exact[i]! += v; });
        const [y] = await runCompressed(comms, { codec, count, op: 'sum', algorithm, errorFeedback: 'w' }, undefined, inputs);
        y!.forEach((v, i) => { sent[i]! += v; magnitude = Math.max(magnitude, Math.abs(v)); });
      }
      const residuals = await Promise.all(comms.map((c) => c.readErrorFeedback('w')));
      let carried = 0;
      for (let i = 0; i < count; i++) {
        const held = residuals.reduce((s, r) => s + r![i]!, 0);
        carried = Math.max(carried, Math.abs(held));
        // f32 rounding only: each step's sums and each residual's subtraction round once.
        const bound = steps * size * 2 ** -21 * (magnitude + 16 * size);
        const error = Math.abs(sent[i]! + held - exact[i]!);
        assert.ok(error <= bound, `${codec}, ${size} ranks ${algorithm}: element ${i}: Σ sent + residual differs from Σ inputs by ${error} > ${bound}`);
      }
      assert.ok(carried > 0, `the residual carries something (${codec} is lossy)`);
      // Without the residual the same identity fails by far: what it carries is what was lost.
      assert.ok(carried > 1e-3, `${codec}: residuals carry ${carried}`);
      assert.is(comms[0]!.errorFeedbackElements, count);
      await Promise.all(comms.map((c) => c.resetErrorFeedback('w')));
      assert.is(comms[0]!.errorFeedbackElements, 0);
      assert.is(await comms[0]!.readErrorFeedback('w'), undefined);
    } finally {
      await destroyWorld(comms);
    }
  }
});

test('int8 error feedback, one encoding at a time: residual + transmitted value = input exactly (+ carried residual)', async () => {
  // v = x + r (f32); sent = decode(encode(v)); r' = v - sent, which is exact for int8 (sent is
  // within a factor of two of v, or 0), so sent + r' = v for every element, in real arithmetic.
  const space = new CpuMemorySpace();
  const count = 1001;
  const residual = space.residual(count);
  const memory = space.bind('float32', 'sum', 2, INT8_CODEC, residual.region);
  const carried = new Float32Array((residual.region as CpuRegion).bytes.buffer, 0, count);
  let nonzero = 0;
  for (let step = 0; step < 5; step++) {
    const x = compressionInput(0, count, step + 3);
    const before = carried.slice();
    const payload = await memory.read(new CpuRegion(new Uint8Array(x.buffer), count), 0, count);
    assert.is(payload.byteLength, INT8_CODEC.encodedBytes(count, 'float32'));
    const sent = new Float32Array(count);
    await memory.write(new CpuRegion(new Uint8Array(sent.buffer), count), 0, count, payload);
    for (let i = 0; i < count; i++) {
      const v = Math.fround(x[i]! + before[i]!);
      assert.is(sent[i]! + carried[i]!, v, `step ${step} element ${i}: sent + residual = v exactly`);
      if (carried[i] !== 0) nonzero++;
    }
  }
  assert.ok(nonzero > 4 * count, `the residual carries what int8 lost (${nonzero} of ${5 * count} nonzero)`);
  // A zero residual sends exactly what plain int8 (a call without a key) sends.
  const zeros = space.residual(count);
  const x = new CpuRegion(new Uint8Array(compressionInput(0, count, 9).buffer), count);
  const plain = await space.bind('float32', 'sum', 2, INT8_CODEC).read(x, 0, count);
  assert.equal(await space.bind('float32', 'sum', 2, INT8_CODEC, zeros.region).read(x, 0, count), plain);
  zeros.release();
  residual.release();
});

test('onebit error feedback, one encoding at a time: residual + transmitted value = input (+ carried residual)', async () => {
  // The memory seam itself, 5 steps: v = x + r (f32), sent = decode(encode(v)), and the new
  // residual is v - sent rounded once to f32. So sent + r' equals v exactly wherever that
  // subtraction is exact, and to within half an ulp of r' everywhere.
  const space = new CpuMemorySpace();
  const count = 1001;
  const residual = space.residual(count);
  const memory = space.bind('float32', 'sum', 2, ONEBIT_CODEC, residual.region);
  const carried = new Float32Array((residual.region as CpuRegion).bytes.buffer, 0, count);
  let exact = 0;
  for (let step = 0; step < 5; step++) {
    const x = compressionInput(0, count, step + 3);
    const before = carried.slice();
    const payload = await memory.read(new CpuRegion(new Uint8Array(x.buffer), count), 0, count);
    assert.is(payload.byteLength, ONEBIT_CODEC.encodedBytes(count, 'float32'));
    const sent = new Float32Array(count);
    await memory.write(new CpuRegion(new Uint8Array(sent.buffer), count), 0, count, payload);
    for (let i = 0; i < count; i++) {
      const v = Math.fround(x[i]! + before[i]!);
      assert.is(carried[i], Math.fround(v - sent[i]!), `step ${step} element ${i}: residual is v - sent rounded once`);
      const gap = Math.abs(sent[i]! + carried[i]! - v);
      assert.ok(gap <= 2 ** -24 * Math.abs(carried[i]!), `step ${step} element ${i}: sent + residual misses v by ${gap}`);
      if (gap === 0) exact++;
    }
  }
  assert.ok(exact > 0, `exact in ${exact} of ${5 * count}`); // about 70% with these inputs
  residual.release();
});

test('mismatched compression across ranks is InvalidUsage naming both ranks and both calls', async () => {
  const comms = await createWorld(2);
  try {
    const bufs = [new Float32Array(64), new Float32Array(64)];
    const outcomes = await Promise.allSettled([
      comms[0]!.allReduce(bufs[0]!, bufs[0]!, 64, 'float32', 'sum', { compression: 'int8' }),
      comms[1]!.allReduce(bufs[1]!, bufs[1]!, 64, 'float32', 'sum', { compression: 'bf16' }),
    ]);
    const usage = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason as WebcclError);
    assert.ok(usage.length === 2);
    const direct = usage.find((e) => e.code === 'InvalidUsage' && /compression=int8/.test(e.message) && /compression=bf16/.test(e.message));
    assert.ok(direct, usage.map((e) => `${e.code}: ${e.message}`).join('\n'));
    assert.match(direct!.message, /rank 0/);
    assert.match(direct!.message, /rank 1/);
  } finally {
    await destroyWorld(comms);
  }
});

test('compression with another dtype or op, or an unknown name, is InvalidArgument naming the allowed combinations', async () => {
  const comms = await createWorld(2);
  try {
    const c = comms[0]!;
    const check = async (call: () => Promise<void>, pattern: RegExp) => {
      try {
        await call();
        assert.unreachable('should reject');
      } catch (error) {
        assert.instance(error, WebcclError);
        assert.is((error as WebcclError).code, 'InvalidArgument');
        assert.match((error as WebcclError).message, pattern);
      }
    };
    await check(() => c.allReduce(new Int32Array(4), new Int32Array(4), 4, 'int32', 'sum', { compression: 'int8' }), /float32 with sum or avg/);
    await check(() => c.allReduce(new Float32Array(4), new Float32Array(4), 4, 'float32', 'max', { compression: 'bf16' }), /float32 with sum or avg/);
    await check(() => c.allReduce(new Uint16Array(4), new Uint16Array(4), 4, 'float16', 'avg', { compression: 'onebit' }), /float32 with sum or avg/);
    await check(() => c.allReduce(new Float32Array(4), new Float32Array(4), 4, 'float32', 'sum', { compression: 'zip' }), /none, bf16, fp16, int8, onebit, switchml/);
    await check(() => c.allReduce(new Float32Array(4), new Float32Array(4), 4, 'float32', 'sum', { compression: 'onebit', errorFeedback: '' }), /errorFeedback/);
    // The communicator stays usable: nothing was sent.
    await Promise.all(comms.map((comm) => comm.allReduce(new Float32Array(4), new Float32Array(4), 4, 'float32', 'sum', { compression: 'none' })));
  } finally {
    await destroyWorld(comms);
  }
});

test('a key reused with another count is InvalidArgument before anything is sent', async () => {
  const comms = await createWorld(2);
  try {
    await Promise.all(comms.map((c) => c.allReduce(new Float32Array(64), new Float32Array(64), 64, 'float32', 'sum', { compression: 'onebit', errorFeedback: 'k' })));
    try {
      await comms[0]!.allReduce(new Float32Array(32), new Float32Array(32), 32, 'float32', 'sum', { compression: 'onebit', errorFeedback: 'k' });
      assert.unreachable('should reject');
    } catch (error) {
      assert.is((error as WebcclError).code, 'InvalidArgument');
      assert.match((error as WebcclError).message, /holds the residual of 64 elements/);
    }
  } finally {
    await destroyWorld(comms);
  }
});

test('the communicator default (init compression, WEBCCL_COMPRESSION) applies to float32 sum/avg calls only, rank 0 decides', async () => {
  const previous = process.env['WEBCCL_COMPRESSION'];
  process.env['WEBCCL_COMPRESSION'] = 'bf16';
  try {
    const comms = await createWorld(2);
    try {
      assert.is(comms[1]!.config.codec, 'bf16');
      const x = [Float32Array.of(1 + 2 ** -12, 3), Float32Array.of(0, 0)];
      await Promise.all(comms.map((c, r) => c.allReduce(x[r]!, x[r]!, 2, 'float32', 'sum')));
      assert.equal([...x[1]!], [1, 3]); // 1 + 2^-12 rounds to 1 in bf16
      const ints = [Int32Array.of(5), Int32Array.of(7)];
      await Promise.all(comms.map((c, r) => c.allReduce(ints[r]!, ints[r]!, 1, 'int32', 'max')));
      assert.equal([...ints[0]!], [7]);
    } finally {
      await destroyWorld(comms);
    }
    process.env['WEBCCL_COMPRESSION'] = 'gzip';
    try {
      await createWorld(1);
      assert.unreachable('should reject');
    } catch (error) {
      assert.match((error as Error).message, /WEBCCL_COMPRESSION=gzip.*none, bf16/);
    }
  } finally {
    if (previous === undefined) delete process.env['WEBCCL_COMPRESSION'];
    else process.env['WEBCCL_COMPRESSION'] = previous;
  }
  const comms = await createWorld(2, { compression: 'fp16' });
  try {
    assert.is(comms[0]!.config.codec, 'fp16');
  } finally {
    await destroyWorld(comms);
  }
});

test.run();
