// Collectives on GPUBuffers (a real WebGPU device: lavapipe in CI): the reduction runs in the
// WGSL kernels, staging buffers are pooled, and results match the same serial oracle as the
// host path bit for bit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Communicator } from '../lib/comm/communicator.js';
import type { GpuBufferRange } from '../lib/memory/buffers.js';
import { elementBytes, premulSum, type DataType, type ElementArray, type ReduceOp } from '../lib/dtype.js';
import { WebcclError } from '../lib/errors.js';
import { f32ToBf16Bits, f32ToF16Bits } from '../lib/cpu/half.js';
import { reduceAccumulate } from '../lib/cpu/reduce.js';
import '../lib/index.node.js'; // registers the webccl+shm:// world (the board test)
import { device } from './helpers/gpu.js';
import { download, gpuBuffer, OFFSET, upload } from './helpers/gpu-ranges.js';
import {
  allocate, createWorld, destroyWorld, DTYPES, inputFor, opLabel, opsFor, oracleReduce, sameElements,
} from './helpers/comm-world.js';

function worldOf(size: number, chunkBytes = 4096): Promise<Communicator[]> {
  return createWorld(size, { device, chunkBytes, timeoutMs: 60_000 });
}

async function checkAllReduce(comms: readonly Communicator[], count: number, dtype: DataType, op: ReduceOp, inPlace: boolean, algorithm: 'ring' | 'tree' | 'auto' | 'board') {
  const inputs = comms.map((c) => inputFor(dtype, op, c.rank, count));
  const expected = oracleReduce(inputs, count, dtype, op);
  const sends = inputs.map(upload);
  const recvs = inPlace ? sends : comms.map(() => upload(allocate(dtype, count)));
  await Promise.all(comms.map((c, r) => c.allReduce(sends[r]!, recvs[r]!, count, dtype, op, { algorithm })));
  const label = `GPU allReduce n=${comms.length} count=${count} ${dtype} ${opLabel(op)} ${inPlace ? 'in-place' : 'out-of-place'} ${algorithm}`;
  for (const [r, recv] of recvs.entries()) sameElements(await download(recv, dtype, count), expected, `${label} rank ${r}`);
  if (!inPlace) for (const [r, send] of sends.entries()) sameElements(await download(send, dtype, count), inputs[r]!, `${label} rank ${r} send changed`);
  for (const range of new Set([...sends, ...recvs])) range.buffer.destroy();
}

test('GPU allReduce: every dtype and op, ring and tree, in and out of place, odd counts', async () => {
  const comms = await worldOf(3, 64);
  try {
    for (const dtype of DTYPES) {
      for (const op of opsFor(dtype)) {
        await checkAllReduce(comms, 7, dtype, op, false, 'ring');
        await checkAllReduce(comms, 7, dtype, op, true, 'tree');
      }
      await checkAllReduce(comms, 1, dtype, 'sum', true, 'ring');
      await checkAllReduce(comms, 0, dtype, 'sum', false, 'tree');
    }
  } finally {
    await destroyWorld(comms);
  }
});

test('GPU allReduce, direct exchange (small counts): every dtype and op on 2, 4 and 8 ranks, folded in one submission', async () => {
  // 8 ranks fold 7 payloads into rank 0 (the most one accumulate dispatch takes) and write one
  // then fold 7 elsewhere; 16-bit dtypes use one dispatch per payload.
  for (const size of [2, 4, 8]) {
    const comms = await worldOf(size);
    try {
      for (const dtype of DTYPES) {
        for (const op of opsFor(dtype)) {
          await checkAllReduce(comms, 7, dtype, op, false, 'auto');
          await checkAllReduce(comms, 8, dtype, op, true, 'auto');
        }
        await checkAllReduce(comms, 1, dtype, 'avg', true, 'auto');
      }
      const warm = comms.map((c) => c.gpuBuffersCreated);
      for (let again = 0; again < 3; again++) await checkAllReduce(comms, 100, 'float32', 'sum', false, 'auto');
      const grown = comms.map((c, r) => c.gpuBuffersCreated - warm[r]!);
      assert.ok(grown.every((n) => n <= 2), `direct allReduce: ${grown.join(', ')} buffers created by repeated calls`);
    } finally {
      await destroyWorld(comms);
    }
  }
});

test('GPU allReduce, direct exchange: 16-bit sums round after every step, as one-by-one accumulates do', async () => {
  // 1 + 2^-11 + 2^-11 in rank order: each step rounds back to 1 in float16 (ties to even),
  // while an f32 accumulator would give 1 + 2^-10. The same with 2^-8 steps in bfloat16.
  const comms = await worldOf(3);
  try {
    for (const [dtype, step, toBits] of [['float16', 2 ** -11, f32ToF16Bits], ['bfloat16', 2 ** -8, f32ToBf16Bits]] as const) {
      const count = 6;
      const inputs = comms.map((c) => {
        const out = allocate(dtype, count);
        out.fill(toBits(c.rank === 0 ? 1 : step));
        return out;
      });
      const expected = allocate(dtype, count);
      expected.set(inputs[0]!);
      for (const input of inputs.slice(1)) reduceAccumulate(expected, [input], count, dtype, 'sum');
      assert.is(expected[0], toBits(1), `${dtype}: the one-by-one fold rounds to 1`);
      const sends = inputs.map(upload);
      await Promise.all(comms.map((c, r) => c.allReduce(sends[r]!, sends[r]!, count, dtype, 'sum')));
      for (const [r, send] of sends.entries()) sameElements(await download(send, dtype, count), expected, `${dtype} direct allReduce rank ${r}`);
      for (const range of sends) range.buffer.destroy();
    }
  } finally {
    await destroyWorld(comms);
  }
});

test('GPU allReduce: larger counts on 2, 4 and 5 ranks; staging buffers are reused, not re-created', async () => {
  // Each call shape moves tens of chunks per rank. Once a shape has run, three more runs may
  // only top the pools up to the most buffers in flight at once (which depends on timing, and
  // the pipeline depth bounds), never add one per chunk.
  const shapes: Array<[number, DataType, ReduceOp, boolean, 'ring' | 'tree']> = [
    [10_001, 'float32', 'avg', false, 'ring'], [9_999, 'bfloat16', 'sum', true, 'ring'], [4_097, 'float16', 'max', true, 'tree'],
  ];
  for (const size of [2, 4, 5]) {
    const comms = await worldOf(size);
    try {
      const depth = comms[0]!.config.pipelineDepth;
      for (const shape of shapes) {
        await checkAllReduce(comms, ...shape);
        const warm = comms.map((c) => c.gpuBuffersCreated);
        assert.ok(warm.every((n) => n > 0), 'staging was used');
        for (let again = 0; again < 3; again++) await checkAllReduce(comms, ...shape);
        const grown = comms.map((c, r) => c.gpuBuffersCreated - warm[r]!);
        assert.ok(grown.every((n) => n <= depth), `${shape.join(' ')}: ${grown.join(', ')} buffers created by 3 more runs (at most ${depth})`);
      }
    } finally {
      await destroyWorld(comms);
    }
  }
});

test('GPU allReduce through the board (shm world): staged through host bytes, the oracle bit for bit', async () => {
  const comms = await createWorld(3, { device, timeoutMs: 60_000 }, 'shm');
  const calls: Array<[number, DataType, ReduceOp, boolean]> = [
    [1001, 'float32', 'avg', false], [300_001, 'float32', 'sum', true], [4097, 'float16', 'prod', true], [777, 'int32', 'max', false], [5, 'bfloat16', premulSum(0.5), true],
  ];
  try {
    for (const call of calls) await checkAllReduce(comms, ...call, 'board');
  } finally {
    await destroyWorld(comms);
  }
});

test('GPU broadcast, reduce, allGather, reduceScatter, allToAll and send/recv', async () => {
  const comms = await worldOf(3, 256);
  const n = comms.length;
  try {
    for (const [dtype, count] of [['float32', 333], ['float16', 334], ['int32', 1]] as const) {
      const label = `${dtype} count=${count}`;
      // broadcast from rank 2, tree then ring
      for (const algorithm of ['tree', 'ring'] as const) {
        const data = inputFor(dtype, 'sum', 2, count, 3);
        const bufs = comms.map((c) => upload(c.rank === 2 ? data : allocate(dtype, count)));
        await Promise.all(comms.map((c, r) => c.broadcast(bufs[r]!, bufs[r]!, count, dtype, 2, { algorithm })));
        for (const buf of bufs) sameElements(await download(buf, dtype, count), data, `broadcast ${label} ${algorithm}`);
      }
      // reduce to rank 1
      for (const algorithm of ['tree', 'ring'] as const) {
        const inputs = comms.map((c) => inputFor(dtype, 'sum', c.rank, count));
        const sends = inputs.map(upload);
        const recv = upload(allocate(dtype, count));
        await Promise.all(comms.map((c, r) => c.reduce(sends[r]!, r === 1 ? recv : null, count, dtype, 'sum', 1, { algorithm })));
        sameElements(await download(recv, dtype, count), oracleReduce(inputs, count, dtype, 'sum'), `reduce ${label} ${algorithm}`);
        for (const [r, send] of sends.entries()) sameElements(await download(send, dtype, count), inputs[r]!, `reduce ${label} send unchanged`);
      }
      if (count % 2 === 0 || elementBytes(dtype) === 4) {
        // allGather in place
        const inputs = comms.map((c) => inputFor(dtype, 'sum', c.rank, count, 5));
        const whole = allocate(dtype, n * count);
        inputs.forEach((input, r) => whole.set(input, r * count));
        const recvs = comms.map((c, r) => {
          const start = allocate(dtype, n * count);
          start.set(inputs[r]!, r * count);
          return upload(start);
        });
        const sends = recvs.map((recv, r) => ({ buffer: recv.buffer, byteOffset: OFFSET + r * count * elementBytes(dtype) }));
        await Promise.all(comms.map((c, r) => c.allGather(sends[r]!, recvs[r]!, count, dtype)));
        for (const recv of recvs) sameElements(await download(recv, dtype, n * count), whole, `allGather ${label}`);
        // reduceScatter (avg) and allToAll out of place
        const big = comms.map((c) => inputFor(dtype, 'avg', c.rank, n * count, 7));
        const expected = oracleReduce(big, n * count, dtype, 'avg');
        const bigSends = big.map(upload);
        const parts = comms.map(() => upload(allocate(dtype, count)));
        await Promise.all(comms.map((c, r) => c.reduceScatter(bigSends[r]!, parts[r]!, count, dtype, 'avg')));
        for (const [r, part] of parts.entries()) sameElements(await download(part, dtype, count), expected.subarray(r * count, (r + 1) * count), `reduceScatter ${label}`);
        const exchanged = comms.map(() => upload(allocate(dtype, n * count)));
        await Promise.all(comms.map((c, r) => c.allToAll(bigSends[r]!, exchanged[r]!, count, dtype)));
        for (const [r, got] of exchanged.entries()) {
          const mine = await download(got, dtype, n * count);
          for (let from = 0; from < n; from++) {
            sameElements(mine.subarray(from * count, (from + 1) * count), big[from]!.subarray(r * count, (r + 1) * count), `allToAll ${label}`);
          }
        }
      }
      // send/recv around the ring, in a group
      const data = comms.map((c) => inputFor(dtype, 'sum', c.rank, count, 9));
      const outs = comms.map(() => upload(allocate(dtype, count)));
      const ins = data.map(upload);
      await Promise.all(comms.map(async (c, r) => {
        c.groupStart();
        void c.send(ins[r]!, count, dtype, (r + 1) % n);
        void c.recv(outs[r]!, count, dtype, (r + n - 1) % n);
        await c.groupEnd();
      }));
      for (const [r, out] of outs.entries()) sameElements(await download(out, dtype, count), data[(r + n - 1) % n]!, `send/recv ${label}`);
    }
  } finally {
    await destroyWorld(comms);
  }
});

test('GPU arguments: no device, missing usage, odd 16-bit blocks, mixed memories', async () => {
  const plain = await createWorld(1);
  const comms = await worldOf(2);
  const buffer = gpuBuffer(64);
  const code = async (promise: Promise<unknown>) => {
    try { await promise; return 'resolved'; } catch (error) { return error instanceof WebcclError ? `${error.code}: ${error.message}` : String(error); }
  };
  assert.match(await code(plain[0]!.allReduce(buffer, buffer, 4, 'float32', 'sum')), /InvalidArgument: .*device passed to Communicator.init/);
  const mapOnly = device.createBuffer({ size: 64, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  assert.match(await code(comms[0]!.allReduce(mapOnly, mapOnly, 4, 'float32', 'sum')), /InvalidArgument: .*usage STORAGE/);
  assert.match(await code(comms[0]!.allGather(buffer, buffer, 3, 'float16')), /InvalidArgument: .*multiple of 2/);
  assert.match(await code(comms[0]!.allReduce(new Float32Array(4), buffer, 4, 'float32', 'sum')), /InvalidArgument: .*same memory/);
  assert.match(await code(comms[0]!.allReduce(buffer, buffer, 100, 'float32', 'sum')), /InvalidArgument: .*holds/);
  assert.match(await code(comms[0]!.allReduce({ buffer, byteOffset: 2 }, buffer, 4, 'float32', 'sum')), /InvalidArgument: .*byte offset 2/);
  buffer.destroy();
  mapOnly.destroy();
  await destroyWorld(plain);
  await destroyWorld(comms);
});

test.run();
