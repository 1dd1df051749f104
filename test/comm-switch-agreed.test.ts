// The communicator's float32 switch path (lib/comm/switch-float.ts): block exponents agreed over
// the ranks' link, the call quantized where its buffers live, int32 packets only. Its results
// must be SwitchML's own scheme's bit for bit (a raw SwitchWorker's stream, which agrees the
// exponents one window ahead inside the packets), also for non-finite and extreme inputs; GPU
// buffers are quantized and dequantized by the switchml kernels, with the host's bits. float16
// and bfloat16 are widened, summed as float32 and rounded back once (the cast kernels on a GPU).
// With switchExponents 'stream' (and 'auto', the default, from 8 ranks: its own suite,
// comm-switch-exponents) the communicator agrees them in the stream instead (its lead's
// packets reach the switch), with the same bits, host and GPU buffers alike.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the switch aggregator
import { Communicator, getUniqueId } from '../lib/comm/communicator.js';
import { castFromFloat32, castToFloat32, type HalfType } from '../lib/cpu/cast.js';
import { readRegion, writeRegion } from '../lib/gpu/transfer.js';
import { SwitchServer } from '../lib/switch/switch-server.js';
import castSource from '../shaders/cast.wgsl';
import switchmlSource from '../shaders/switchml.wgsl';
import { createWorld, destroyWorld, sameElements } from './helpers/comm-world.js';
import { ctx, device } from './helpers/gpu.js';
import { float32Violation, inStreamSums, int32Sum, randomFloat32, randomInt32 } from './helpers/switch-job.js';
import { allReduceAll } from './helpers/switch-world.js';
import { within } from './within.js';

const server = await SwitchServer.start({ port: 0 });
const VALUES = 256;
const RANKS = 3;
// 0, 1, a half packet either side, several windows' worth (256 packets of 256 values: 65,536).
const COUNTS = [0, 1, 127, 128, 129, 1001, 70_001];

function switchWorld(extra: Parameters<typeof createWorld>[1] = {}): Promise<Communicator[]> {
  return within(createWorld(RANKS, {
    switch: server.address, switchSecret: server.secret, algorithm: 'switch', switchPacketValues: VALUES, timeoutMs: 60_000, ...extra,
  }), 30_000, 'world');
}

/** The same sums through raw workers: SwitchML's exponents one window ahead inside the stream. */
const inStreamAgreement = (inputs: readonly Float32Array[]) => inStreamSums(server, inputs, VALUES);

/** Inputs whose blocks hold what quantization must get right: infinities, NaN, -0, subnormals, the largest floats. */
function extremes(count: number, rank: number): Float32Array {
  const x = randomFloat32(count, 31 + rank);
  const special = [Infinity, -Infinity, NaN, -0, 1e-45, -3e-39, 3.4e38, -3.4e38, 2 ** -126, 1e-30];
  for (let i = rank; i < count; i += 97) x[i] = special[(i + rank) % special.length]!;
  return x;
}

test('host memory: the same bits as SwitchML\'s in-stream agreement, at every count; avg within the bound', async () => {
  const comms = await switchWorld();
  try {
    for (const count of COUNTS) {
      const inputs = comms.map((_, r) => randomFloat32(count, 7 * count + r));
      const ours = await allReduceAll(comms, inputs, 'float32', 'sum');
      const theirs = await inStreamAgreement(inputs);
      for (const [r, out] of ours.entries()) sameElements(out, theirs[r]!, `count ${count}, rank ${r}`);
      assert.is(float32Violation(inputs, ours[0] as Float32Array, VALUES), undefined, `count ${count}`);
      const averaged = await allReduceAll(comms, inputs, 'float32', 'avg');
      assert.is(float32Violation(inputs, averaged[0] as Float32Array, VALUES, RANKS), undefined, `avg, count ${count}`);
    }
  } finally {
    await destroyWorld(comms);
  }
});

test('32 ranks, the most a switch job takes (\'auto\': exponents agreed in the stream): float32 within the bound and the same on every rank, int32 exact', async () => {
  const comms = await within(createWorld(32, {
    switch: server.address, switchSecret: server.secret, algorithm: 'switch', switchPacketValues: VALUES, timeoutMs: 60_000,
  }), 60_000, '32 ranks');
  try {
    const count = 3001;
    const inputs = comms.map((_, r) => randomFloat32(count, 900 + r));
    const out = await allReduceAll(comms, inputs, 'float32', 'sum');
    for (const [r, o] of out.entries()) sameElements(o, out[0]!, `rank ${r} vs rank 0`);
    assert.is(float32Violation(inputs, out[0] as Float32Array, VALUES), undefined);
    const ints = comms.map((_, r) => randomInt32(count, 700 + r));
    const sums = await allReduceAll(comms, ints, 'int32', 'sum');
    for (const [r, o] of sums.entries()) sameElements(o, int32Sum(ints), `int32, rank ${r}`);
  } finally {
    await destroyWorld(comms);
  }
});

test('non-finite, signed-zero, subnormal and huge inputs: the same bits as the in-stream agreement', async () => {
  const comms = await switchWorld();
  try {
    const count = 5000;
    const inputs = comms.map((_, r) => extremes(count, r));
    const ours = await allReduceAll(comms, inputs, 'float32', 'sum');
    const theirs = await inStreamAgreement(inputs);
    for (const [r, out] of ours.entries()) sameElements(out, theirs[r]!, `rank ${r}`);
    assert.ok((ours[0] as Float32Array).some(Number.isNaN), 'the blocks holding NaN or infinities are flagged in the result');
  } finally {
    await destroyWorld(comms);
  }
});

test('GPU buffers: the switchml kernels quantize and dequantize, with the same bits as host memory', async () => {
  const comms = await switchWorld({ device });
  const count = 70_001;
  const inputs = comms.map((_, r) => randomFloat32(count, 11 + r));
  const buffers = inputs.map(() => device.createBuffer({ size: 4 * count, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST }));
  try {
    const compiledBefore = ctx.compiledFrom(switchmlSource);
    for (const [r, buffer] of buffers.entries()) writeRegion(device, { buffer, byteOffset: 0 }, new Uint8Array(inputs[r]!.buffer));
    await within(Promise.all(comms.map((comm, r) => comm.allReduce(buffers[r]!, buffers[r]!, count, 'float32', 'sum'))), 60_000, 'GPU call');
    const host = await allReduceAll(comms, inputs, 'float32', 'sum');
    for (const [r, buffer] of buffers.entries()) {
      const bytes = (await readRegion(device, { buffer, byteOffset: 0 }, 4 * count)).slice();
      sameElements(new Float32Array(bytes.buffer), host[r]!, `rank ${r}: GPU vs host`);
    }
    const compiled = ctx.compiledFrom(switchmlSource).filter((entry) => !compiledBefore.includes(entry));
    for (const step of ['block_exponents', 'quantize', 'dequantize']) {
      assert.ok(compiled.some((entry) => entry.startsWith(step)), `the ${step} kernel ran (compiled: ${compiled.join(', ')})`);
    }
  } finally {
    for (const buffer of buffers) buffer.destroy();
    await destroyWorld(comms);
  }
});

test('switchExponents \'stream\': the lead goes through the switch, the same bits as the link\'s agreement (sum, avg, every count; GPU buffers too)', async () => {
  const link = await switchWorld();
  const stream = await switchWorld({ switchExponents: 'stream', device });
  try {
    for (const count of COUNTS) {
      const inputs = link.map((_, r) => randomFloat32(count, 3 * count + r));
      const chunks = Math.ceil(count / VALUES);
      for (const op of ['sum', 'avg'] as const) {
        const want = await allReduceAll(link, inputs, 'float32', op);
        const before = server.counters().datagrams;
        const got = await allReduceAll(stream, inputs, 'float32', op);
        // Every packet at least once: the chunks and a lead of min(W, chunks) (retransmissions only add).
        assert.ok(server.counters().datagrams - before >= RANKS * (chunks + Math.min(256, chunks)), `count ${count}: the lead's packets reached the switch`);
        for (const [r, out] of got.entries()) sameElements(out, want[r]!, `${op}, count ${count}, rank ${r}`);
      }
    }
    // GPU buffers take the same stream (their values staged through the host), with the host's bits.
    const count = 1001;
    const inputs = stream.map((_, r) => randomFloat32(count, 40 + r));
    const buffers = inputs.map((input) => {
      const buffer = device.createBuffer({ size: 4 * count, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      writeRegion(device, { buffer, byteOffset: 0 }, new Uint8Array(input.buffer));
      return buffer;
    });
    try {
      await within(Promise.all(stream.map((comm, r) => comm.allReduce(buffers[r]!, buffers[r]!, count, 'float32', 'sum'))), 60_000, 'GPU call');
      const want = await allReduceAll(link, inputs, 'float32', 'sum');
      for (const [r, buffer] of buffers.entries()) {
        const bytes = (await readRegion(device, { buffer, byteOffset: 0 }, 4 * count)).slice();
        sameElements(new Float32Array(bytes.buffer), want[r]!, `rank ${r}: GPU buffers in the stream vs the link's agreement`);
      }
    } finally {
      for (const buffer of buffers) buffer.destroy();
    }
  } finally {
    await destroyWorld(link);
    await destroyWorld(stream);
  }
});

test('WEBCCL_SWITCH_EXPONENTS must be auto, link or stream', async () => {
  process.env['WEBCCL_SWITCH_EXPONENTS'] = 'switch';
  try {
    const error = await Communicator.init({ rank: 0, size: 1, id: await getUniqueId({ transport: 'inproc' }) }).then(() => undefined, (e: Error) => e);
    assert.match(error?.message ?? '', /WEBCCL_SWITCH_EXPONENTS=switch is not one of auto, link, stream/);
  } finally {
    delete process.env['WEBCCL_SWITCH_EXPONENTS'];
  }
});

/** 16-bit inputs of `count` elements (random float32 rounded to the type) and their float32 widening. */
function halfInputs(dtype: HalfType, count: number, seed: number): { half: Uint16Array; wide: Float32Array } {
  const half = new Uint16Array(count);
  castFromFloat32(half, randomFloat32(count, seed), count, dtype);
  const wide = new Float32Array(count);
  castToFloat32(wide, half, count, dtype);
  return { half, wide };
}

test('float16 and bfloat16: widened, summed as float32 with the in-stream agreement\'s bits, rounded back once', async () => {
  const comms = await switchWorld();
  try {
    for (const dtype of ['float16', 'bfloat16'] as const) {
      for (const count of [1, 129, 1001]) {
        const inputs = comms.map((_, r) => halfInputs(dtype, count, 5 * count + r));
        const ours = await allReduceAll(comms, inputs.map((i) => i.half), dtype, 'sum');
        const wideSums = await inStreamAgreement(inputs.map((i) => i.wide));
        const want = new Uint16Array(count);
        castFromFloat32(want, wideSums[0]!, count, dtype);
        for (const [r, out] of ours.entries()) sameElements(out, want, `${dtype} ${count}, rank ${r}`);
      }
    }
  } finally {
    await destroyWorld(comms);
  }
});

test('float16 GPU buffers of odd length: the cast kernels widen and narrow, the host\'s bits, the element after untouched', async () => {
  const comms = await switchWorld({ device });
  const count = 1001;
  const inputs = comms.map((_, r) => halfInputs('float16', count, 40 + r).half);
  // One element more than the call, holding a sentinel the narrowing must not overwrite.
  const bytes = 2 * (count + 1);
  const buffers = inputs.map(() => device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST }));
  try {
    const compiledBefore = ctx.compiledFrom(castSource);
    for (const [r, buffer] of buffers.entries()) {
      const staged = new Uint16Array(Math.ceil(bytes / 4) * 2);
      staged.set(inputs[r]!);
      staged[count] = 0xabcd;
      writeRegion(device, { buffer, byteOffset: 0 }, new Uint8Array(staged.buffer));
    }
    await within(Promise.all(comms.map((comm, r) => comm.allReduce(buffers[r]!, buffers[r]!, count, 'float16', 'sum'))), 60_000, 'GPU call');
    const host = await allReduceAll(comms, inputs, 'float16', 'sum');
    for (const [r, buffer] of buffers.entries()) {
      const got = new Uint16Array((await readRegion(device, { buffer, byteOffset: 0 }, Math.ceil(bytes / 4) * 4)).slice().buffer);
      sameElements(got.subarray(0, count), host[r]!, `rank ${r}: GPU vs host`);
      assert.is(got[count], 0xabcd, `rank ${r}: the element after the call`);
    }
    const compiled = ctx.compiledFrom(castSource).filter((entry) => !compiledBefore.includes(entry));
    for (const step of ['widen', 'narrow']) assert.ok(compiled.some((entry) => entry.startsWith(step)), `the ${step} kernel ran (compiled: ${compiled.join(', ')})`);
  } finally {
    for (const buffer of buffers) buffer.destroy();
    await destroyWorld(comms);
  }
});

test.after(() => server.close());

test.run();
