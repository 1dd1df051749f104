// The small board call's short path (docs/PERFORMANCE.md, "Small-call latency (session 9)"): a
// call with no other call pending runs on the native board at once, a repeated call reuses its
// plan and its signature's hash, and host memory's checks answer without an await. What must
// still hold: calls bound to a board run in bound order even when a later one is done first;
// hundreds of tiny calls in a row, interleaved with chunked ones, queued without awaiting, and
// switching dtype and op, all give the oracle's result; a rank that changes its call after a
// run of identical ones is InvalidUsage on every rank; a reused array detached is caught.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js';
import { Communicator } from '../lib/index.node.js';
import type { DataType, ReduceOp } from '../lib/dtype.js';
import { WebcclError } from '../lib/errors.js';
import type { NativeAddon } from '../lib/native/addon.js';
import { NativeBoardSession, runCode } from '../lib/native/board.js';
import type { BoardHost } from '../lib/transport/board.js';
import { connectInproc } from '../lib/transport/inproc.js';
import { ShmBoardHost } from '../lib/transport/shm/shm-board.js';
import { createWorld, destroyWorld, inputFor, oracleReduce, sameElements } from './helpers/comm-world.js';
import { requireAddon } from './helpers/native-transports.js';
import { within } from './within.js';

requireAddon('shm');

/** A native board that records the stamps it runs and finishes each at once, or hands it over (`later`) until complete() is called. */
function fakeBoard(later: () => boolean) {
  const runs: number[] = [];
  let onComplete: ((id: number, error: string | null) => void) | undefined;
  const handed: number[] = [];
  const addon = {
    Board: class {
      constructor(_name: string, _rank: number, _size: number, _bytes: number, _timeout: number, complete: (id: number, error: string | null) => void) {
        onComplete = complete;
      }
      run(id: number, _view: Uint8Array, _code: number, stamp: number): boolean {
        runs.push(stamp);
        if (!later()) return true;
        handed.push(id);
        return false;
      }
      close(): void {}
    },
  } as unknown as NativeAddon;
  return { addon, runs, complete: (error: string | null) => onComplete!(handed.shift()!, error) };
}

const WORK = { collective: 'allReduce', dtype: 'float32', op: 'sum' } as const;
const BYTES = new Uint8Array(8);

test('board session: a call with nothing pending reaches the native board at once; later ones wait for every call bound before them, even one done first', async () => {
  const fake = fakeBoard(() => false);
  const session = new NativeBoardSession(fake.addon, '/unused', 0, 2, 1 << 20, 5000);
  const alone = session.forCall(1);
  const ran = alone.run(BYTES, WORK);
  assert.equal(fake.runs, [1], 'no promise between the call and the native run');
  await ran;
  alone.done();
  alone.done();
  // A group: a, then b (nothing to run: done before a), then c.
  const [a, b, c] = [2, 3, 4].map((stamp) => session.forCall(stamp));
  b!.done();
  let cRan = false;
  const cRun = c!.run(BYTES, WORK).then(() => { cRan = true; });
  await Promise.resolve();
  assert.equal(fake.runs, [1], 'c waits for a, bound before it');
  await a!.run(BYTES, WORK);
  assert.equal(fake.runs, [1, 2]);
  for (let i = 0; i < 5; i++) await Promise.resolve();
  assert.not.ok(cRan, 'a ran but is not done: c still waits');
  a!.done();
  await within(cRun, 1000, 'c once a and b are done');
  assert.equal(fake.runs, [1, 2, 4]);
  c!.done();
  const d = session.forCall(5);
  void d.run(BYTES, WORK);
  assert.equal(fake.runs, [1, 2, 4, 5], 'nothing pending again: d runs at once');
  d.done();
  session.close();
});

test('board session: a call handed to the board thread settles by its completion; a mismatch there is InvalidUsage', async () => {
  const fake = fakeBoard(() => true);
  const session = new NativeBoardSession(fake.addon, '/unused', 1, 2, 1 << 20, 5000);
  const first = session.forCall(7);
  let settled = false;
  const ran = first.run(BYTES, WORK).then(() => { settled = true; });
  for (let i = 0; i < 5; i++) await Promise.resolve();
  assert.not.ok(settled, 'pending until the board thread completes it');
  fake.complete(null);
  await within(ran, 1000, 'the completed call');
  first.done();
  const second = session.forCall(8);
  const failed = second.run(BYTES, WORK).then(() => undefined, (error: unknown) => error as WebcclError);
  assert.equal(fake.runs, [7, 8], 'the second call reached the native board at once');
  fake.complete('board: mismatch: rank 0 runs another call (stamp 9) than rank 1 (stamp 8)');
  const error = await within(failed, 1000, 'the mismatched call');
  second.done();
  assert.instance(error, WebcclError);
  assert.is(error!.code, 'InvalidUsage', error!.message);
  session.close();
});

/** One step of the sequence: a call every rank makes alike, and the arrays it checks. */
interface Step {
  readonly dtype: DataType;
  readonly op: ReduceOp;
  readonly count: number;
}

/** Mostly the repeated tiny call (the short path), with other sizes (chunked: the board's thread), dtypes, ops and empty calls between. */
function stepAt(i: number): Step {
  if (i % 29 === 28) return { dtype: 'float32', op: 'sum', count: 70_001 };
  if (i % 11 === 10) return { dtype: 'int32', op: 'max', count: 3 };
  if (i % 13 === 12) return { dtype: 'float32', op: 'sum', count: 0 };
  if (i % 7 === 6) return { dtype: 'float32', op: 'avg', count: 2 };
  return { dtype: 'float32', op: 'sum', count: 2 };
}

test('board: 300 small calls in a row, sizes, dtypes and ops interleaved, give the oracle\'s results; so do 40 queued at once', async () => {
  const comms = await createWorld(2, { timeoutMs: 10_000, algorithm: 'board' }, 'shm');
  try {
    // One pair of arrays per step kind, reused: the repeated call reuses its plan (plan-memo.ts).
    const arrays = new Map<string, { sends: ReturnType<typeof inputFor>[]; recvs: ReturnType<typeof inputFor>[] }>();
    for (let i = 0; i < 300; i++) {
      const { dtype, op, count } = stepAt(i);
      const key = `${dtype} ${op} ${count}`;
      const inputs = comms.map((_, r) => inputFor(dtype, op, r, count, i + 1));
      if (!arrays.has(key)) arrays.set(key, { sends: inputs.map((x) => x.slice()), recvs: inputs.map((x) => x.slice()) });
      const { sends, recvs } = arrays.get(key)!;
      inputs.forEach((input, r) => sends[r]!.set(input));
      await within(Promise.all(comms.map((c, r) => c.allReduce(sends[r]!, recvs[r]!, count, dtype, op))), 10_000, `call ${i}: ${key}`);
      const expected = oracleReduce(inputs, count, dtype, op);
      for (let r = 0; r < 2; r++) sameElements(recvs[r]!.subarray(0, count), expected, `call ${i} (${key}), rank ${r}`);
    }
    // Queued without awaiting: each runs after the one before it, on the same reused arrays in place.
    const inputs = Array.from({ length: 40 }, (_, i) => comms.map((_, r) => inputFor('float32', 'sum', r, 2, 1000 + i)));
    const buffers = inputs.map((pair) => pair.map((x) => x.slice()));
    await within(Promise.all(comms.flatMap((c, r) => buffers.map((pair) => c.allReduce(pair[r]!, pair[r]!, 2, 'float32', 'sum')))), 10_000, '40 queued calls');
    buffers.forEach((pair, i) => pair.forEach((buffer, r) => sameElements(buffer, oracleReduce(inputs[i]!, 2, 'float32', 'sum'), `queued call ${i}, rank ${r}`)));
  } finally {
    await destroyWorld(comms);
  }
});

let fakeWorlds = 0;

/** Rank 0 of a two-rank inproc world whose board is `addon`'s (rank 1 only bootstraps: a fake board needs no peer). */
async function fakeBoardWorld(addon: NativeAddon): Promise<{ comm: Communicator; comms: Communicator[] }> {
  const board: BoardHost = { open: (_key, rank, size, timeoutMs) => new NativeBoardSession(addon, '/unused', rank, size, 1 << 20, timeoutMs) };
  const world = `board-short-path-${process.pid}-${++fakeWorlds}`;
  const transports = [0, 1].map((rank) => Object.assign(connectInproc(world, rank, 2), { board }));
  const comms = await Promise.all(transports.map((transport, rank) => Communicator.init({ transport, rank, size: 2, algorithm: 'board', timeoutMs: 5000 })));
  return { comm: comms[0]!, comms };
}

test('communicator short path: a small host allreduce is one native run given the send elements as its input, the recv buffer untouched before it; in place, none', async () => {
  const seen: { view: Uint8Array; code: number; input: Uint8Array | undefined; recvBefore: number[] }[] = [];
  let recv = new Float32Array(0);
  const addon = {
    Board: class {
      run(_id: number, view: Uint8Array, code: number, _stamp: number, _output?: Uint8Array, input?: Uint8Array): boolean {
        seen.push({ view, code, input, recvBefore: [...recv] });
        return true;
      }
      close(): void {}
    },
  } as unknown as NativeAddon;
  const { comm, comms } = await fakeBoardWorld(addon);
  try {
    const send = Float32Array.of(1, 2, 3);
    recv = Float32Array.of(-7, -7, -7);
    for (let i = 0; i < 3; i++) await within(comm.allReduce(send, recv, 3, 'float32', 'avg'), 5000, `out of place, call ${i}`);
    assert.is(seen.length, 3, 'one native run per call');
    for (const { view, code, input, recvBefore } of seen) {
      assert.is(view.buffer, recv.buffer, 'the result lands in the recv buffer');
      assert.is(view.byteLength, 12);
      assert.ok(input !== undefined && input.buffer === send.buffer && input.byteOffset === 0 && input.byteLength === 12, 'the send elements are the input');
      assert.equal(recvBefore, [-7, -7, -7], 'no copy into the recv buffer before the run');
      assert.is(code, runCode({ collective: 'allReduce', dtype: 'float32', op: 'sum', average: true }));
    }
    seen.length = 0;
    const both = Int32Array.of(4, 5);
    await within(comm.allReduce(both, both, 2, 'int32', 'max'), 5000, 'in place');
    assert.is(seen.length, 1);
    assert.is(seen[0]!.input, undefined, 'in place: no separate input');
    assert.is(seen[0]!.view.buffer, both.buffer);
    assert.is(seen[0]!.code, runCode({ collective: 'allReduce', dtype: 'int32', op: 'max', average: false }));
  } finally {
    await Promise.all(comms.map((c) => c.destroy()));
  }
});

test('communicator short path: a call the board hands over is queued (the next waits for it), and its failure rejects it and every later call', async () => {
  let complete: ((id: number, error: string | null) => void) | undefined;
  const handed: number[] = [];
  let runs = 0;
  const addon = {
    Board: class {
      constructor(_name: string, _rank: number, _size: number, _bytes: number, _timeout: number, onComplete: (id: number, error: string | null) => void) {
        complete = onComplete;
      }
      run(id: number): boolean {
        runs++;
        handed.push(id);
        return false;
      }
      close(): void {}
    },
  } as unknown as NativeAddon;
  const { comm, comms } = await fakeBoardWorld(addon);
  try {
    const data = Float32Array.of(1, 2);
    let firstDone = false;
    const first = comm.allReduce(data, data, 2, 'float32', 'sum').then(() => { firstDone = true; });
    const second = comm.allReduce(data, data, 2, 'float32', 'sum');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.is(runs, 1, 'the second call waits for the first');
    complete!(handed.shift()!, null);
    await within(first, 5000, 'the first completes');
    assert.ok(firstDone);
    await within(new Promise((resolve) => setTimeout(resolve, 20)), 5000, 'a turn');
    assert.is(runs, 2, 'then the second runs');
    complete!(handed.shift()!, 'board: rank 1 (process 1) died');
    const error = await within(second.then(() => undefined, (e: unknown) => e as WebcclError), 5000, 'the second rejects');
    assert.is(error?.code, 'RemoteError', error?.message);
    const later = await within(comm.allReduce(data, data, 2, 'float32', 'sum').then(() => undefined, (e: unknown) => e as WebcclError), 5000, 'a later call rejects');
    assert.instance(later, WebcclError);
    assert.is(runs, 2, 'a failed communicator runs nothing more');
  } finally {
    await Promise.all(comms.map((c) => c.destroy().catch(() => undefined)));
  }
});

test('communicator short path: a repeated call (its plan reused, no closure made for it) still joins an open group, holds its host buffers, is refused once destroyed, and finishes at once', async () => {
  let handOver = false;
  const fake = fakeBoard(() => handOver);
  const { comm, comms } = await fakeBoardWorld(fake.addon);
  try {
    const send = Float32Array.of(1, 2);
    const recv = new Float32Array(2);
    const first = comm.allReduce(send, recv, 2, 'float32', 'sum');
    await within(first, 5000, 'the first call');
    const again = comm.allReduce(send, recv, 2, 'float32', 'sum');
    let settled = false;
    void again.then(() => { settled = true; });
    await Promise.resolve();
    assert.ok(settled, 'a repeated call done on the board is settled when it returns');
    assert.is(fake.runs.length, 2);
    // In a group the call waits for groupEnd: it must not reach the board before.
    comm.groupStart();
    const grouped = comm.allReduce(send, recv, 2, 'float32', 'sum');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.is(fake.runs.length, 2, 'a repeated call in an open group waits for groupEnd');
    await within(Promise.all([comm.groupEnd(), grouped]), 5000, 'the group');
    assert.is(fake.runs.length, 3);
    // A host buffer's views, repeated, with the call handed over: the buffer stays held until it completes.
    const host = comm.allocHostBuffer(16);
    const hostSend = new Float32Array(host, 0, 2);
    const hostRecv = new Float32Array(host, 8, 2);
    await within(comm.allReduce(hostSend, hostRecv, 2, 'float32', 'sum'), 5000, 'a host-buffer call');
    handOver = true;
    const held = comm.allReduce(hostSend, hostRecv, 2, 'float32', 'sum');
    assert.is(fake.runs.length, 5, 'the repeated host-buffer call reached the board (and was handed over)');
    assert.throws(() => comm.freeHostBuffer(host), (error: unknown) => error instanceof WebcclError && error.code === 'InvalidUsage' && /in use by a call in flight/.test(error.message));
    fake.complete(null);
    await within(held, 5000, 'the handed-over call');
    comm.freeHostBuffer(host);
    handOver = false;
    await comm.destroy();
    const refused = await within(comm.allReduce(send, recv, 2, 'float32', 'sum').then(() => undefined, (error: unknown) => error as WebcclError), 5000, 'a call after destroy');
    assert.is(refused?.code, 'InvalidUsage', refused?.message);
    assert.match(refused!.message, /destroyed/);
  } finally {
    await Promise.all(comms.map((c) => c.destroy().catch(() => undefined)));
  }
});

test("the shm world's board host offers the short path and forwards it to its session", () => {
  const runs: { code: number; stamp: number; input: Uint8Array | undefined }[] = [];
  const addon = {
    Board: class {
      run(_id: number, _view: Uint8Array, code: number, stamp: number, _output?: Uint8Array, input?: Uint8Array): boolean {
        runs.push({ code, stamp, input });
        return true;
      }
      close(): void {}
    },
  } as unknown as NativeAddon;
  const host = new ShmBoardHost(addon, 'secret', 'world');
  const session = host.open('0/0,1', 0, 2, 5000);
  const input = new Uint8Array(8);
  const work = { collective: 'allReduce', dtype: 'float32', op: 'sum' } as const;
  assert.is(session.runNow?.(77, { bytes: new Uint8Array(8), input, work }), true);
  assert.equal(runs, [{ code: runCode(work), stamp: 77, input }]);
  host.close();
});

/** After 50 identical small calls, rank 1 makes `other` instead: every rank must reject with InvalidUsage, fast. */
async function changedCall(label: string, other: (c: Communicator, send: Float32Array, recv: Float32Array) => Promise<void>): Promise<void> {
  const comms = await createWorld(2, { timeoutMs: 10_000, algorithm: 'board' }, 'shm');
  try {
    const sends = comms.map((_, r) => Float32Array.of(r, r + 1));
    const recvs = comms.map(() => new Float32Array(2));
    for (let i = 0; i < 50; i++) await within(Promise.all(comms.map((c, r) => c.allReduce(sends[r]!, recvs[r]!, 2, 'float32', 'sum'))), 10_000, `${label}: warm-up call ${i}`);
    const started = Date.now();
    const errors = await within(Promise.all(comms.map((c, r) => (r === 1 ? other(c, sends[r]!, recvs[r]!) : c.allReduce(sends[r]!, recvs[r]!, 2, 'float32', 'sum'))
      .then(() => undefined, (error: unknown) => error as WebcclError))), 10_000, `${label}: every rank rejects`);
    for (const [r, error] of errors.entries()) {
      assert.instance(error, WebcclError, `${label}: rank ${r} rejected`);
      assert.is(error!.code, 'InvalidUsage', `${label}: rank ${r}: ${error!.message}`);
      assert.match(error!.message, /runs another call/, label);
    }
    assert.ok(Date.now() - started < 5000, `${label}: found in ${Date.now() - started} ms, not by the timeout`);
  } finally {
    await destroyWorld(comms);
  }
}

test('board: a rank that changes its call after 50 identical small ones (count, op, dtype) is InvalidUsage on every rank', async () => {
  await changedCall('another count', (c, send, recv) => c.allReduce(send, recv, 1, 'float32', 'sum'));
  await changedCall('another op', (c, send, recv) => c.allReduce(send, recv, 2, 'float32', 'max'));
  await changedCall('another dtype', (c) => c.allReduce(Int32Array.of(1, 2), new Int32Array(2), 2, 'int32', 'sum'));
});

test('board: an array detached after 50 small calls reused it fails the next call there (InvalidArgument) and on the peer (RemoteError)', async () => {
  const comms = await createWorld(2, { timeoutMs: 10_000, algorithm: 'board' }, 'shm');
  try {
    const sends = comms.map((_, r) => Float32Array.of(r, r + 1));
    const recvs = comms.map(() => new Float32Array(2));
    for (let i = 0; i < 50; i++) await within(Promise.all(comms.map((c, r) => c.allReduce(sends[r]!, recvs[r]!, 2, 'float32', 'sum'))), 10_000, `warm-up call ${i}`);
    structuredClone(sends[1]!.buffer, { transfer: [sends[1]!.buffer] });
    const errors = await within(Promise.all(comms.map((c, r) => c.allReduce(sends[r]!, recvs[r]!, 2, 'float32', 'sum')
      .then(() => undefined, (error: unknown) => error as WebcclError))), 10_000, 'every rank rejects');
    assert.is(errors[1]?.code, 'InvalidArgument', errors[1]?.message);
    assert.match(errors[1]!.message, /send buffer.*detached/);
    assert.is(errors[0]?.code, 'RemoteError', errors[0]?.message);
    assert.match(errors[0]!.message, /rank 1 failed/);
  } finally {
    await destroyWorld(comms);
  }
});

test.run();
