// The communicator's switch algorithm end to end: a real SwitchServer on loopback in this
// process, ranks over inproc and tcp, CPU and GPU memory. int32 and uint32 sums are exact,
// float32 within the SwitchML bound of a float64 oracle (lib/cpu/switchml.ts), 16-bit floats
// exact on small integers; every rank ends with the same bits. Forced and unsupported:
// InvalidArgument; 'auto' and unsupported: the size-based choice, exact. The switch dying or a
// rank dying mid-call: every other rank rejects well before the timeout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the switch aggregator and the tcp world
import type { Communicator } from '../lib/comm/communicator.js';
import type { GpuBufferRange } from '../lib/memory/buffers.js';
import { elementBytes, premulSum, type DataType, type ElementArray, type ReduceOp } from '../lib/dtype.js';
import { WebcclError } from '../lib/errors.js';
import { readRegion, writeRegion } from '../lib/gpu/transfer.js';
import { SwitchServer } from '../lib/switch/switch-server.js';
import { bf16BitsToF32, f16BitsToF32 } from '../lib/cpu/half.js';
import { allocate, createWorld, destroyWorld, inputFor, oracleReduce, sameElements, type WorldOptions } from './helpers/comm-world.js';
import { device } from './helpers/gpu.js';
import { agreedPacketValues, float32Violation, randomFloat32, randomInt32 } from './helpers/switch-job.js';
import { rejection, within } from './within.js';

const server = await SwitchServer.start({ port: 0 });
const TIMEOUT_MS = 60_000;

function switchWorld(size: number, transport: 'inproc' | 'tcp' = 'inproc', extra: WorldOptions = {}, on: SwitchServer = server): Promise<Communicator[]> {
  return within(createWorld(size, { switch: on.address, switchSecret: on.secret, chunkBytes: 16 * 1024, timeoutMs: TIMEOUT_MS, ...extra }, transport), 30_000, `${size} ranks`);
}

function packetsThrough(): number {
  return server.counters().jobs.reduce((sum, job) => sum + job.packetsIn, 0);
}

/** Packets the switch took in once (retransmitted and stale ones left out). */
function firstPackets(): number {
  return server.counters().jobs.reduce((sum, job) => sum + job.packetsIn - job.retransmissions - job.stale, 0);
}

async function allReduceAll(comms: readonly Communicator[], inputs: readonly ElementArray[], dtype: DataType, op: ReduceOp, algorithm: string): Promise<ElementArray[]> {
  const outputs = inputs.map((input) => allocate(dtype, input.length));
  await within(Promise.all(comms.map((c, r) => c.allReduce(inputs[r]!, outputs[r]!, inputs[r]!.length, dtype, op, { algorithm }))), 60_000, `${dtype} allReduce`);
  return outputs;
}

function sameOnEveryRank(outputs: readonly ElementArray[], label: string): void {
  for (const [rank, output] of outputs.entries()) sameElements(output, outputs[0]!, `${label}: rank ${rank} vs rank 0`);
}

const COUNTS = [0, 1, 1001, 70_000];

/**
 * 16-bit sums: the float32 switch sum (within its bound, tiny for these small integers) rounded
 * once to the 16-bit type, so within one rounding of the exact sum (the oracle's, exact here),
 * plus the quantization's absolute error (a zero sum may come back as -0 or a subnormal).
 */
function halfViolation(got: Uint16Array, want: Uint16Array, dtype: 'float16' | 'bfloat16'): string | undefined {
  const decode = dtype === 'float16' ? f16BitsToF32 : bf16BitsToF32;
  const relative = dtype === 'float16' ? 2 ** -11 : 2 ** -8;
  for (let i = 0; i < got.length; i++) {
    const [g, w] = [decode(got[i]!), decode(want[i]!)];
    if (!(Math.abs(g - w) <= relative * Math.abs(w) + 2 ** -20)) return `element ${i}: ${g} vs ${w}`;
  }
  return undefined;
}

for (const [transport, sizes] of [['inproc', [1, 2, 3, 8]], ['tcp', [2, 5]]] as const) {
  for (const size of sizes) {
    test(`${transport}, ${size} ranks, host memory: int32/uint32 exact, float32 within the bound, 16-bit exact on small integers, identical bits`, async () => {
      const comms = await switchWorld(size, transport, { algorithm: 'switch' });
      try {
        // 'auto' on loopback: the largest packets (chunks of 16 KiB are whole packets, so the
        // bound's blocks line up with the oracle's).
        assert.is(agreedPacketValues(comms[0]!), 4096);
        const before = packetsThrough();
        for (const count of COUNTS) {
          const ints = comms.map((_, r) => randomInt32(count, 31 * r + count + 1));
          const intOut = await allReduceAll(comms, ints, 'int32', 'sum', 'switch');
          for (const out of intOut) sameElements(out, oracleReduce(ints, count, 'int32', 'sum'), `int32 ${count}`);
          const uints = ints.map((a) => new Uint32Array(a.buffer));
          for (const out of await allReduceAll(comms, uints, 'uint32', 'sum', 'switch')) sameElements(out, oracleReduce(uints, count, 'uint32', 'sum'), `uint32 ${count}`);

          const floats = comms.map((_, r) => randomFloat32(count, 7 * r + count + 3));
          for (const [op, divisor] of [['sum', 1], ['avg', size]] as const) {
            const out = await allReduceAll(comms, floats, 'float32', op, 'switch');
            sameOnEveryRank(out, `float32 ${op} ${count}`);
            assert.is(float32Violation(floats, out[0] as Float32Array, agreedPacketValues(comms[0]!), divisor), undefined, `float32 ${op} ${count}`);
          }
          for (const dtype of ['float16', 'bfloat16'] as const) {
            const halves = comms.map((_, r) => inputFor(dtype, 'sum', r, count));
            const out = await allReduceAll(comms, halves, dtype, 'sum', 'switch');
            sameOnEveryRank(out, `${dtype} ${count}`);
            assert.is(halfViolation(out[0] as Uint16Array, oracleReduce(halves, count, dtype, 'sum') as Uint16Array, dtype), undefined, `${dtype} ${count}`);
          }
        }
        const scaled = comms.map((_, r) => randomFloat32(5000, r + 99));
        const out = await allReduceAll(comms, scaled, 'float32', premulSum(0.5), 'switch');
        const halved = scaled.map((a) => a.map((x) => x * 0.5));
        assert.is(float32Violation(halved, out[0] as Float32Array, agreedPacketValues(comms[0]!)), undefined, 'premulSum');
        sameOnEveryRank(out, 'premulSum');
        assert.ok(packetsThrough() > before, 'the calls went through the switch');
      } finally {
        await destroyWorld(comms);
      }
    });
  }
}

test('switchPacketValues 512: every rank agrees it, packets carry 512 values, int32 exact, float32 within the bound', async () => {
  const comms = await switchWorld(3, 'inproc', { algorithm: 'switch', switchPacketValues: 512 });
  try {
    for (const c of comms) assert.is(agreedPacketValues(c), 512);
    const count = 10_000;
    const ints = comms.map((_, r) => randomInt32(count, r + 71));
    const before = firstPackets();
    for (const out of await allReduceAll(comms, ints, 'int32', 'sum', 'switch')) sameElements(out, oracleReduce(ints, count, 'int32', 'sum'), 'int32 at 512 values');
    // Chunks of 4096 int32 (16 KiB): 8 + 8 + 4 packets of 512 values from each of 3 workers.
    assert.is(firstPackets() - before, 3 * 20, 'packets of 512 values');
    const floats = comms.map((_, r) => randomFloat32(count, r + 73));
    const out = await allReduceAll(comms, floats, 'float32', 'sum', 'switch');
    sameOnEveryRank(out, 'float32 at 512 values');
    assert.is(float32Violation(floats, out[0] as Float32Array, 512), undefined, 'float32 at 512 values');
  } finally {
    await destroyWorld(comms);
  }
});

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

function upload(data: ElementArray): GpuBufferRange {
  const buffer = device.createBuffer({ size: Math.max(16, Math.ceil(data.byteLength / 4) * 4), usage: USAGE });
  if (data.byteLength > 0) writeRegion(device, { buffer, byteOffset: 0 }, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return { buffer, byteOffset: 0 };
}

async function download(range: GpuBufferRange, dtype: DataType, count: number): Promise<ElementArray> {
  const out = allocate(dtype, count);
  new Uint8Array(out.buffer).set(await readRegion(device, { buffer: range.buffer, byteOffset: 0 }, count * elementBytes(dtype)));
  return out;
}

test('GPU memory, 4 ranks: int32 exact, float32 within the bound and identical on every rank (in place)', async () => {
  const comms = await switchWorld(4, 'inproc', { device, algorithm: 'switch' });
  try {
    const count = 20_000;
    const ints = comms.map((_, r) => randomInt32(count, r + 5));
    const intBuffers = ints.map(upload);
    await within(Promise.all(comms.map((c, r) => c.allReduce(intBuffers[r]!, intBuffers[r]!, count, 'int32', 'sum'))), 60_000, 'gpu int32');
    const want = oracleReduce(ints, count, 'int32', 'sum');
    for (const b of intBuffers) sameElements(await download(b, 'int32', count), want, 'gpu int32');

    const floats = comms.map((_, r) => randomFloat32(count, r + 11));
    const floatBuffers = floats.map(upload);
    await within(Promise.all(comms.map((c, r) => c.allReduce(floatBuffers[r]!, floatBuffers[r]!, count, 'float32', 'avg'))), 60_000, 'gpu float32');
    const got = await Promise.all(floatBuffers.map((b) => download(b, 'float32', count)));
    sameOnEveryRank(got, 'gpu float32');
    assert.is(float32Violation(floats, got[0] as Float32Array, agreedPacketValues(comms[0]!), 4), undefined, 'gpu float32 avg');
  } finally {
    await destroyWorld(comms);
  }
});

test('forced: an op the switch cannot do is InvalidArgument naming it, on every rank, with no effect; no address: init refuses', async () => {
  for (const how of ['call', 'config'] as const) {
    const comms = await switchWorld(3, 'inproc', how === 'config' ? { algorithm: 'switch' } : {});
    try {
      const inputs = comms.map((_, r) => inputFor('float32', 'max', r, 100));
      for (const [r, c] of comms.entries()) {
        const error = await rejection(c.allReduce(inputs[r]!, allocate('float32', 100), 100, 'float32', 'max', how === 'call' ? { algorithm: 'switch' } : undefined), 5000, 'max');
        assert.instance(error, WebcclError);
        assert.is((error as WebcclError).code, 'InvalidArgument');
        assert.match(error.message, /switch algorithm does not support op max/);
      }
      // The communicator is still usable: the refused call had no effect.
      const ints = comms.map((_, r) => randomInt32(100, r));
      const out = await allReduceAll(comms, ints, 'int32', 'sum', 'switch');
      for (const o of out) sameElements(o, oracleReduce(ints, 100, 'int32', 'sum'), 'after refusal');
    } finally {
      await destroyWorld(comms);
    }
  }
  const error = await rejection(createWorld(2, { algorithm: 'switch', timeoutMs: 5000 }), 10_000, 'init without an address');
  assert.is((error as WebcclError).code, 'InvalidArgument');
  assert.match(error.message, /needs a switch address/);
});

test('compression: the communicator\'s default codec is not applied to switch calls; a call\'s own is InvalidArgument naming it', async () => {
  const comms = await switchWorld(2, 'inproc', { algorithm: 'switch', compression: 'bf16' });
  try {
    const floats = comms.map((_, r) => randomFloat32(1000, r + 61));
    const out = await allReduceAll(comms, floats, 'float32', 'sum', 'switch');
    sameOnEveryRank(out, 'default bf16');
    assert.is(float32Violation(floats, out[0] as Float32Array, agreedPacketValues(comms[0]!)), undefined, 'the SwitchML bound, not bf16\'s');
    for (const [r, c] of comms.entries()) {
      const error = await rejection(c.allReduce(floats[r]!, new Float32Array(1000), 1000, 'float32', 'sum', { compression: 'int8' }), 5000, 'int8');
      assert.is((error as WebcclError).code, 'InvalidArgument');
      assert.match(error.message, /compression 'int8' does not apply to the switch algorithm/);
    }
  } finally {
    await destroyWorld(comms);
  }
});

test('auto with a switch: supported calls go through it; max falls back to the size-based choice, exact', async () => {
  const comms = await switchWorld(4);
  try {
    assert.is(comms[0]!.config.algorithm, 'auto');
    const ints = comms.map((_, r) => randomInt32(3000, r + 1));
    const before = packetsThrough();
    const out = await allReduceAll(comms, ints, 'int32', 'sum', 'auto');
    assert.ok(packetsThrough() > before, 'auto chose the switch');
    for (const o of out) sameElements(o, oracleReduce(ints, 3000, 'int32', 'sum'), 'auto int32 sum');

    const before2 = packetsThrough();
    for (const count of [10, 100_000]) {
      const inputs = comms.map((_, r) => inputFor('float32', 'max', r, count));
      const maxed = await allReduceAll(comms, inputs, 'float32', 'max', 'auto');
      for (const o of maxed) sameElements(o, oracleReduce(inputs, count, 'float32', 'max'), `auto max ${count}`);
    }
    // Per job, so that a failure shows whose packets arrived (a late retransmission of an earlier job, or this one's).
    const jobs = server.counters().jobs.map((job) => `${job.job}: in ${job.packetsIn}, retransmitted ${job.retransmissions}`).join('; ');
    assert.is(packetsThrough(), before2, `max never reached the switch (${jobs})`);
  } finally {
    await destroyWorld(comms);
  }
});

test('split: each child is its own job on the switch; siblings run at once and stay exact', async () => {
  const comms = await switchWorld(4, 'inproc', { algorithm: 'switch' });
  try {
    const jobsBefore = server.counters().jobs.length;
    const children = await within(Promise.all(comms.map((c) => c.split(c.rank % 2))), 10_000, 'split');
    const ints = comms.map((_, r) => randomInt32(5000, r + 77));
    const outs = ints.map(() => new Int32Array(5000));
    await within(Promise.all(children.map((child, r) => child!.allReduce(ints[r]!, outs[r]!, 5000, 'int32', 'sum'))), 30_000, 'children');
    for (const [r, out] of outs.entries()) sameElements(out, oracleReduce([ints[r % 2]!, ints[r % 2 + 2]!], 5000, 'int32', 'sum'), `rank ${r}`);
    assert.is(server.counters().jobs.length, jobsBefore + 2, 'two new jobs');
    await Promise.all(children.map((child) => child!.destroy()));
  } finally {
    await destroyWorld(comms);
  }
});

test('the switch dies mid-call: every rank rejects within the timeout, naming the switch', async () => {
  const own = await SwitchServer.start({ port: 0 });
  const comms = await switchWorld(3, 'inproc', { algorithm: 'switch', timeoutMs: 30_000, chunkBytes: 1 << 20 }, own);
  try {
    const count = 4 << 20;
    const calls = comms.map((c, r) => c.allReduce(randomInt32(count, r), new Int32Array(count), count, 'int32', 'sum'));
    for (let i = 0; i < 10_000 && own.counters().datagrams === 0; i++) await new Promise((resolve) => setTimeout(resolve, 1));
    await own.close();
    for (const [r, call] of calls.entries()) {
      const error = await rejection(call, 25_000, `rank ${r}`);
      assert.match(error.message, new RegExp(`switch ${own.address.replace(/\./g, '\\.')}`), `rank ${r}: ${error.message}`);
    }
  } finally {
    await destroyWorld(comms);
    await own.close();
  }
});

test('a rank dies mid-call: the others reject well before the timeout', async () => {
  const comms = await switchWorld(3, 'inproc', { algorithm: 'switch', timeoutMs: 60_000, chunkBytes: 1 << 20 });
  try {
    const count = 4 << 20;
    const calls = comms.slice(0, 2).map((c, r) => c.allReduce(randomInt32(count, r), new Int32Array(count), count, 'int32', 'sum'));
    // Rank 2 joins the job with a call of its own, then dies (abort fails its calls and leaves the switch job).
    const dying = comms[2]!.allReduce(randomInt32(count, 2), new Int32Array(count), count, 'int32', 'sum');
    dying.catch(() => undefined);
    for (let i = 0; i < 10_000 && packetsThrough() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 1));
    await comms[2]!.abort();
    for (const [r, call] of calls.entries()) {
      const error = await rejection(call, 30_000, `rank ${r}`);
      assert.instance(error, WebcclError, `rank ${r}`);
    }
  } finally {
    await destroyWorld(comms);
  }
});

test.after(async () => {
  await server.close();
});

test.run();
