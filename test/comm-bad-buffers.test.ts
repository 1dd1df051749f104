// Buffers in a bad state: a destroyed GPUBuffer, a GPUBuffer of another device, an ArrayBuffer
// detached before or during the call. The rank that holds it must reject with a clear error
// naming the argument, every peer must reject within a round trip (far below the timeout)
// with a RemoteError naming that rank, and nobody may resolve with wrong data. Afterwards the
// communicator is aborted on every rank (documented in lib/comm/communicator.ts) and a new
// one works. Run at 2 and 3 ranks, in process (inproc) and over real tcp and websocket connections.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the webccl+tcp:// and webccl:// (websocket) worlds
import { Communicator, getUniqueId } from '../lib/comm/communicator.js';
import { connectWorld } from '../lib/transport/world.js';
import { GpuMemorySpace } from '../lib/gpu/gpu-memory.js';
import { WebcclError, type ErrorCode } from '../lib/errors.js';
import { createNodeDevice } from '../lib/gpu/node-device.js';
import { readRegion, writeRegion } from '../lib/gpu/transfer.js';
import type { TransportSetting } from '../lib/settings.js';
import type { Transport } from '../lib/transport/transport.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';
import { device } from './helpers/gpu.js';
import { rejection, within } from './within.js';

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const TIMEOUT_MS = 30_000;
/** Peers must hear of the failure in a round trip; this bound only leaves room for a loaded machine. */
const FAST_MS = 10_000;
const TRANSPORTS: TransportSetting[] = ['inproc', 'tcp', 'websocket'];
const SIZES = [2, 3];
/** The rank whose buffer is bad: the last, so that rank 0 (first to send in a ring) is a peer. */
const culprit = (size: number) => size - 1;

/** A second device: its buffers are not the communicators' device's. Kept for the whole run. */
const otherDevice = await createNodeDevice();

function gpuBuffer(values: Float32Array, owner: GPUDevice = device): GPUBuffer {
  const buffer = owner.createBuffer({ size: values.byteLength, usage: USAGE });
  writeRegion(owner, { buffer, byteOffset: 0 }, new Uint8Array(values.buffer));
  return buffer;
}

/** Detaches the ArrayBuffer under `array`, as postMessage(..., [buffer]) would. */
function detach(array: Float32Array): ArrayBuffer {
  const buffer = array.buffer as ArrayBuffer;
  return structuredClone(buffer, { transfer: [buffer] });
}

interface Outcome {
  readonly errors: WebcclError[];
  readonly ms: number;
}

/** Runs one call per rank; every one must reject (within the bound), each with a WebcclError. */
async function allReject(calls: Promise<unknown>[], what: string): Promise<Outcome> {
  const started = performance.now();
  const errors = await Promise.all(calls.map(async (call, rank) => {
    const error = await rejection(call, TIMEOUT_MS + 10_000, `${what}: rank ${rank}`);
    assert.instance(error, WebcclError, `${what}: rank ${rank} rejected with ${String(error)}`);
    return error as WebcclError;
  }));
  return { errors, ms: performance.now() - started };
}

function expectFailure(outcome: Outcome, size: number, code: ErrorCode, argument: RegExp, reason: RegExp, what: string): void {
  const bad = culprit(size);
  assert.ok(outcome.ms < FAST_MS, `${what}: the ranks took ${Math.round(outcome.ms)} ms to reject (timeout ${TIMEOUT_MS} ms)`);
  outcome.errors.forEach((error, rank) => {
    const label = `${what}: rank ${rank}: ${error.message}`;
    if (rank === bad) {
      assert.is(error.code, code, label);
    } else {
      assert.is(error.code, 'RemoteError', label);
      assert.match(error.message, new RegExp(`rank ${bad} failed`), label);
    }
    assert.match(error.message, argument, label);
    assert.match(error.message, reason, label);
  });
}

/** The documented aftermath: the communicator is aborted on every rank, promptly. */
async function expectAborted(comms: readonly Communicator[], what: string): Promise<void> {
  const errors = await Promise.all(comms.map((c) => rejection(c.barrier(), FAST_MS, `${what}: barrier after the failure`)));
  for (const error of errors) assert.instance(error, WebcclError);
}

async function expectWorking(size: number, transport: TransportSetting, what: string): Promise<void> {
  const comms = await createWorld(size, { device, timeoutMs: TIMEOUT_MS }, transport);
  try {
    const buffers = comms.map((_, r) => gpuBuffer(Float32Array.of(r + 1, 10 * (r + 1))));
    await within(Promise.all(comms.map((c, r) => c.allReduce(buffers[r]!, buffers[r]!, 2, 'float32', 'sum'))), FAST_MS, `${what}: a new communicator`);
    const sum = (size * (size + 1)) / 2;
    for (const buffer of buffers) {
      assert.equal([...new Float32Array((await readRegion(device, { buffer, byteOffset: 0 }, 8)).buffer)], [sum, 10 * sum], `${what}: new communicator's sum`);
      buffer.destroy();
    }
  } finally {
    await destroyWorld(comms);
  }
}

type Case = (comms: Communicator[], bad: number) => Promise<unknown>[];

/** An allReduce of `count` elements where rank `bad` passes what `spoil` makes of its buffers. */
function gpuCase(count: number, spoil: (send: GPUBuffer, recv: GPUBuffer) => { send: GPUBuffer; recv: GPUBuffer }): Case {
  return (comms, bad) => comms.map((c, r) => {
    const values = Float32Array.from({ length: count }, (_, i) => r + i);
    let send = gpuBuffer(values);
    let recv = gpuBuffer(new Float32Array(count));
    if (r === bad) ({ send, recv } = spoil(send, recv));
    return c.allReduce(send, recv, count, 'float32', 'sum');
  });
}

const CASES: { name: string; run: Case; code: ErrorCode; argument: RegExp; reason: RegExp }[] = [
  {
    name: 'destroyed send GPUBuffer',
    run: gpuCase(1000, (send, recv) => { send.destroy(); return { send, recv }; }),
    code: 'InvalidArgument', argument: /send buffer/, reason: /GPUBuffer was destroyed/,
  },
  {
    name: 'destroyed recv GPUBuffer',
    run: gpuCase(1000, (send, recv) => { recv.destroy(); return { send, recv }; }),
    code: 'InvalidArgument', argument: /recv buffer/, reason: /GPUBuffer was destroyed/,
  },
  {
    name: 'GPUBuffer of another GPUDevice',
    run: gpuCase(1000, (_, recv) => ({ send: gpuBuffer(new Float32Array(1000), otherDevice), recv })),
    code: 'InvalidArgument', argument: /send buffer/, reason: /another GPUDevice/,
  },
  {
    name: 'ArrayBuffer detached before the call',
    run: (comms, bad) => comms.map((c, r) => {
      const send = Float32Array.from({ length: 1000 }, (_, i) => r + i);
      if (r === bad) detach(send);
      return c.allReduce(send, new Float32Array(1000), 1000, 'float32', 'sum');
    }),
    code: 'InvalidArgument', argument: /send buffer/, reason: /detached/,
  },
];

for (const transport of TRANSPORTS) {
  for (const size of SIZES) {
    for (const c of CASES) {
      test(`${c.name}, ${size} ranks over ${transport}: ${c.code} there, RemoteError naming it on every peer, fast; then aborted`, async () => {
        const what = `${c.name} (${size} ranks, ${transport})`;
        const comms = await createWorld(size, { device, timeoutMs: TIMEOUT_MS, chunkBytes: 1024 }, transport);
        try {
          expectFailure(await allReject(c.run(comms, culprit(size)), what), size, c.code, c.argument, c.reason, what);
          await expectAborted(comms, what);
        } finally {
          await destroyWorld(comms);
        }
      });
    }
  }
}

test('a GPUBuffer destroyed after a call that used it is caught on the next call', async () => {
  const comms = await createWorld(2, { device, timeoutMs: TIMEOUT_MS });
  try {
    const buffers = comms.map((_, r) => gpuBuffer(Float32Array.of(r, r)));
    await within(Promise.all(comms.map((c, r) => c.allReduce(buffers[r]!, buffers[r]!, 2, 'float32', 'sum'))), FAST_MS, 'first call');
    buffers[1]!.destroy();
    const outcome = await allReject(comms.map((c, r) => c.allReduce(buffers[r]!, buffers[r]!, 2, 'float32', 'sum')), 'second call');
    expectFailure(outcome, 2, 'InvalidArgument', /send buffer/, /GPUBuffer was destroyed/, 'second call');
    buffers[0]!.destroy();
  } finally {
    await destroyWorld(comms);
  }
});

// The second call repeats the first exactly, so it reuses the first's plan (lib/comm/plan-memo.ts),
// which checked the array when it was still attached: the check when the call's turn comes must catch it.
test('a host array detached after a call that used it is caught on the next, identical call', async () => {
  const comms = await createWorld(2, { timeoutMs: TIMEOUT_MS });
  try {
    const arrays = comms.map((_, r) => Float32Array.of(r, r));
    await within(Promise.all(comms.map((c, r) => c.allReduce(arrays[r]!, arrays[r]!, 2, 'float32', 'sum'))), FAST_MS, 'first call');
    detach(arrays[1]!);
    const outcome = await allReject(comms.map((c, r) => c.allReduce(arrays[r]!, arrays[r]!, 2, 'float32', 'sum')), 'second call');
    expectFailure(outcome, 2, 'InvalidArgument', /send buffer/, /detached/, 'second call');
  } finally {
    await destroyWorld(comms);
  }
});

/**
 * A transport that detaches `array` right after this rank's first message of a collective
 * went out: the call is then surely under way, and the detach is certain to happen.
 */
function detachingAfterFirstSend(inner: Transport, array: Float32Array, keep: ArrayBuffer[]): Transport {
  let done = false;
  return {
    rank: inner.rank, size: inner.size, description: inner.description,
    send(peer, header, payload) {
      const sent = inner.send(peer, header, payload);
      if (!done && header.signature.kind === 'allReduce') {
        done = true;
        keep.push(detach(array));
      }
      return sent;
    },
    recv: (peer, comm, seq) => inner.recv(peer, comm, seq),
    onControl: (listener) => inner.onControl(listener),
    onFailure: (listener) => inner.onFailure(listener),
    close: () => inner.close(),
  };
}

for (const transport of TRANSPORTS) {
  for (const size of SIZES) {
    test(`ArrayBuffer detached during the call, ${size} ranks over ${transport}: InvalidUsage there, RemoteError naming it on every peer, fast`, async () => {
      const what = `detached mid-call (${size} ranks, ${transport})`;
      const bad = culprit(size);
      const count = 64 * 1024;
      const id = await getUniqueId({ transport });
      const sends = Array.from({ length: size }, (_, r) => Float32Array.from({ length: count }, (_, i) => r + i));
      const recvs = Array.from({ length: size }, () => new Float32Array(count));
      const keep: ArrayBuffer[] = [];
      const transports = await Promise.all(Array.from({ length: size }, async (_, rank) => {
        const inner = await connectWorld(id, rank, size, TIMEOUT_MS);
        return rank === bad ? detachingAfterFirstSend(inner, recvs[rank]!, keep) : inner;
      }));
      const comms = await Promise.all(transports.map((t, rank) => Communicator.init({ transport: t, rank, size, timeoutMs: TIMEOUT_MS, chunkBytes: 4096 })));
      try {
        const calls = comms.map((c, r) => c.allReduce(sends[r]!, recvs[r]!, count, 'float32', 'sum', { algorithm: 'ring' }));
        expectFailure(await allReject(calls, what), size, 'InvalidUsage', /recv buffer/, /detached .*while the call ran/, what);
        assert.is(keep.length, 1, `${what}: the hook detached the buffer`);
        await expectAborted(comms, what);
      } finally {
        await destroyWorld(comms);
        await Promise.all(transports.map((t) => t.close()));
      }
    });
  }
}

for (const transport of TRANSPORTS) {
  test(`after such a failure, a new communicator over ${transport} works`, async () => {
    await expectWorking(3, transport, transport);
  });
}

test('readRegion of a destroyed buffer rejects instead of returning the staging buffer\'s old bytes', async () => {
  const staging = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const old = gpuBuffer(Float32Array.of(1, 2, 3, 4));
  await readRegion(device, { buffer: old, byteOffset: 0 }, 16, staging); // staging now holds 1, 2, 3, 4
  const gone = gpuBuffer(Float32Array.of(5, 6, 7, 8));
  gone.destroy();
  const error = await rejection(readRegion(device, { buffer: gone, byteOffset: 0 }, 16, staging), FAST_MS, 'read of a destroyed buffer');
  assert.match(error.message, /SystemError: read: GPU rejected the copy: .*destroyed/);
  assert.is(staging.mapState, 'unmapped');
  old.destroy();
  staging.destroy();
});

test('GPU memory: a copy the GPU refuses fails the next read (whose bytes would be sent), not silently', async () => {
  const space = new GpuMemorySpace(device);
  const memory = space.bind('float32', 'sum', 2);
  const source = gpuBuffer(Float32Array.of(1, 2, 3, 4));
  const target = gpuBuffer(Float32Array.of(9, 9, 9, 9));
  const located = (buffer: GPUBuffer) => ({ kind: 'gpu' as const, what: 'test buffer', buffer, byteOffset: 0 });
  const from = space.region(located(source), 'float32', 0, 4);
  const to = space.region(located(target), 'float32', 0, 4);
  source.destroy(); // as if the caller destroyed it while a call ran
  await memory.copy(to, 0, from, 0, 4);
  const error = await rejection(memory.read(to, 0, 4), FAST_MS, 'read after a refused copy');
  assert.match(error.message, /SystemError: GPU rejected a copy: .*destroyed/);
  await memory.finish(); // the failure was reported once, by the read
  target.destroy();
  space.release();
});

test.run();
