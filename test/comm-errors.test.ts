// What goes wrong: mismatched calls across ranks, invalid arguments, silent peers, aborts and
// dead peers. Each must turn into a rejected promise with the right code and a message that
// names the ranks involved, on every rank, and never into a hang or wrong data.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Communicator, getUniqueId } from '../lib/comm/communicator.js';
import { premulSum, type DataType } from '../lib/dtype.js';
import { WebcclError, type ErrorCode } from '../lib/errors.js';
import { connectInproc, INPROC_SCHEME } from '../lib/transport/inproc.js';
import type { Header, Transport } from '../lib/transport/transport.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';

async function rejection(promise: Promise<unknown>): Promise<WebcclError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof WebcclError) return error;
    throw new Error(`expected a WebcclError, got ${String(error)}`);
  }
  throw new Error('expected a rejection, the call succeeded');
}

function expectCode(error: WebcclError, code: ErrorCode, pattern?: RegExp): void {
  assert.is(error.code, code, error.message);
  if (pattern) assert.match(error.message, pattern);
}

/** Bounds a test step: a hang fails the test instead of stalling the suite. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
    promise.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e); });
  });
}

test('mismatched counts: InvalidUsage on every rank, naming both ranks and both calls, no timeout', async () => {
  const comms = await createWorld(4, { timeoutMs: 20_000 });
  const bufs = comms.map(() => new Float32Array(20));
  const errors = await within(3000, Promise.all(comms.map((c, r) => rejection(c.allReduce(bufs[r]!, bufs[r]!, r === 2 ? 10 : 20, 'float32', 'sum', { algorithm: 'ring' })))));
  for (const error of errors) expectCode(error, 'InvalidUsage', /count=10/);
  // Rank 3 receives from rank 2 on the ring: it sees the difference itself.
  expectCode(errors[3]!, 'InvalidUsage', /rank 3 called allReduce\(count=20, float32, sum\) \[ring\] but rank 2 called allReduce\(count=10, float32, sum\) \[ring\]/);
  // Rank 0 is not next to rank 2: it learns from the rank that noticed.
  expectCode(errors[0]!, 'InvalidUsage', /reported: .*rank \d called allReduce\(count=\d+.*but rank \d called allReduce\(count=\d+/);
  // The communicator stays poisoned until destroyed.
  expectCode(await rejection(comms[0]!.barrier()), 'InvalidUsage');
  await destroyWorld(comms);
});

test('mismatched ops, collectives, roots and algorithms are all InvalidUsage', async () => {
  const cases: [string, (c: Communicator, buf: Int32Array) => Promise<void>, RegExp][] = [
    ['op', (c, b) => c.allReduce(b, b, 8, 'int32', c.rank === 1 ? 'max' : 'sum'), /int32, max/],
    ['collective', (c, b) => (c.rank === 1 ? c.broadcast(b, b, 8, 'int32', 0) : c.allReduce(b, b, 8, 'int32', 'sum')), /broadcast\(count=8, int32, root=0\)/],
    ['root', (c, b) => c.broadcast(b, b, 8, 'int32', c.rank === 1 ? 1 : 0), /root=1/],
    ['algorithm', (c, b) => c.allReduce(b, b, 8, 'int32', 'sum', { algorithm: c.rank === 1 ? 'tree' : 'ring' }), /\[tree\]/],
    ['dtype', (c, b) => (c.rank === 1 ? c.allGather(new Float32Array(2), new Float32Array(6), 2, 'float32') : c.allGather(b.subarray(0, 2), b.subarray(0, 6), 2, 'int32')), /float32/],
    ['count 0 against 8', (c, b) => c.allReduce(b, b, c.rank === 1 ? 0 : 8, 'int32', 'sum'), /count=0/],
    // The ring's allreduce, all-gather and reduce-scatter run no agreement check of their own
    // (lib/comm/agreement.ts): their first step's messages must catch all of these.
    ['ring count 0 against 8', (c, b) => c.allReduce(b, b, c.rank === 1 ? 0 : 8, 'int32', 'sum', { algorithm: 'ring' }), /count=0/],
    ['ring count 3 against 8', (c, b) => c.allReduce(b, b, c.rank === 1 ? 3 : 8, 'int32', 'sum', { algorithm: 'ring' }), /count=3/],
    ['ring allReduce against a broadcast from rank 1', (c, b) => (c.rank === 1 ? c.broadcast(b, b, 8, 'int32', 1) : c.allReduce(b, b, 8, 'int32', 'sum', { algorithm: 'ring' })), /broadcast\(count=8, int32, root=1\)/],
    ['ring allGather against reduceScatter', (c, b) => (c.rank === 1 ? c.reduceScatter(b, b.subarray(0, 2), 2, 'int32', 'sum') : c.allGather(b.subarray(0, 2), b.subarray(0, 6), 2, 'int32')), /reduceScatter\(count=2, int32, sum\)/],
    ['ring reduceScatter against a barrier', (c, b) => (c.rank === 1 ? c.barrier() : c.reduceScatter(b.subarray(0, 6), b.subarray(6, 8), 2, 'int32', 'sum')), /barrier/],
    // Nor do the dissemination barrier and the pairwise all-to-all.
    ['barrier against allToAll', (c, b) => (c.rank === 1 ? c.barrier() : c.allToAll(b.subarray(0, 3), b.subarray(3, 6), 1, 'int32')), /barrier/],
    ['allToAll count 0 against 1', (c, b) => c.allToAll(b.subarray(0, 3), b.subarray(3, 6), c.rank === 1 ? 0 : 1, 'int32'), /count=0/],
    ['allToAll against an allGather', (c, b) => (c.rank === 1 ? c.allGather(b.subarray(0, 1), b.subarray(3, 6), 1, 'int32') : c.allToAll(b.subarray(0, 3), b.subarray(3, 6), 1, 'int32')), /allGather\(count=1, int32\)/],
  ];
  for (const [what, call, pattern] of cases) {
    const comms = await createWorld(3, { timeoutMs: 20_000 });
    // Every rank either fails the call itself or, if its own part could complete before the news
    // arrived, fails its next call: no rank goes on as if nothing happened.
    const errors = await within(3000, Promise.all(comms.map(async (c) => {
      try {
        await call(c, new Int32Array(8));
      } catch (error) {
        return error as WebcclError;
      }
      return rejection(c.barrier());
    })));
    errors.forEach((error) => expectCode(error, 'InvalidUsage', pattern));
    // The rank that differs always sees the difference itself.
    assert.match(errors[1]!.message, /but rank|rank 1 called/, `mismatched ${what}: ${errors[1]!.message}`);
    await destroyWorld(comms);
  }
});

test('send/recv with different counts: the receiver reports InvalidUsage naming both ranks; the sender learns of it', async () => {
  const comms = await createWorld(2, { timeoutMs: 20_000 });
  const receiving = rejection(comms[1]!.recv(new Float32Array(4), 4, 'float32', 0));
  await comms[0]!.send(new Float32Array(3), 3, 'float32', 1);
  const received = await within(3000, receiving);
  expectCode(received, 'InvalidUsage', /rank 1 called send\(count=4, float32\) \[p2p\] but rank 0 called send\(count=3, float32\) \[p2p\]/);
  expectCode(await within(3000, rejection(comms[0]!.barrier())), 'InvalidUsage', /rank 1 reported/);
  await destroyWorld(comms);
});

/** A transport that counts what it sends, to prove that rejected calls sent nothing. */
function counting(inner: Transport): Transport & { sent: number } {
  const wrapper = {
    sent: 0,
    get rank() { return inner.rank; },
    get size() { return inner.size; },
    description: `counting(${inner.description})`,
    send(peer: number, header: Header, payload: Uint8Array) { wrapper.sent++; return inner.send(peer, header, payload); },
    recv: inner.recv.bind(inner),
    onControl: inner.onControl.bind(inner),
    onFailure: inner.onFailure.bind(inner),
    close: inner.close.bind(inner),
  };
  return wrapper;
}

test('invalid arguments reject before anything is sent, and the communicator stays usable', async () => {
  const name = `errors-${Math.random()}`;
  const transports = [0, 1].map((rank) => counting(connectInproc(name, rank, 2)));
  const comms = await Promise.all(transports.map((transport, rank) => Communicator.init({ rank, size: 2, transport })));
  const [c] = comms as [Communicator, Communicator];
  const f = new Float32Array(8);
  const before = transports[0]!.sent;
  const bad: [string, () => Promise<void>, RegExp][] = [
    ['negative count', () => c.allReduce(f, f, -1, 'float32', 'sum'), /count -1/],
    ['fractional count', () => c.allReduce(f, f, 1.5, 'float32', 'sum'), /count 1.5/],
    ['buffer too small', () => c.allReduce(f, f, 9, 'float32', 'sum'), /needs 36 bytes .* holds 32/],
    ['unknown dtype', () => c.allReduce(f, f, 8, 'float64' as DataType, 'sum'), /unknown dtype "float64"/],
    ['unknown op', () => c.allReduce(f, f, 8, 'float32', 'mean' as 'sum'), /unknown reduction op "mean"/],
    ['integer premulSum with a fraction', () => c.allReduce(new Int32Array(8), new Int32Array(8), 8, 'int32', premulSum(0.5)), /scalar 0.5/],
    ['dtype vs array', () => c.allReduce(f, f, 8, 'int32', 'sum'), /Float32Array cannot hold int32/],
    ['16-bit float in a Float32Array', () => c.allReduce(f, f, 8, 'bfloat16', 'sum'), /expected a Uint16Array/],
    ['not a buffer', () => c.allReduce([1, 2] as unknown as Float32Array, f, 2, 'float32', 'sum'), /expected a TypedArray/],
    ['bad root', () => c.broadcast(f, f, 8, 'float32', 2), /root 2 is not a rank in 0..1/],
    ['negative root', () => c.reduce(f, f, 8, 'float32', 'sum', -1), /root -1/],
    ['bad peer', () => c.send(f, 8, 'float32', 5), /peer 5/],
    ['self peer', () => c.recv(f, 8, 'float32', 0), /peer 0 is this rank itself/],
    ['allGather recv too small', () => c.allGather(f.subarray(0, 5), f, 5, 'float32'), /recv buffer: needs 40 bytes/],
    ['reduceScatter send too small', () => c.reduceScatter(f, f, 5, 'float32', 'sum'), /send buffer: needs 40 bytes/],
    ['partial overlap', () => c.allReduce(f.subarray(0, 4), f.subarray(2, 6), 4, 'float32', 'sum'), /partially overlap/],
    ['bad algorithm', () => c.allReduce(f, f, 8, 'float32', 'sum', { algorithm: 'butterfly' as 'ring' }), /algorithm "butterfly"/],
  ];
  for (const [what, call, pattern] of bad) {
    const error = await rejection(call());
    expectCode(error, 'InvalidArgument', pattern);
    assert.match(error.message, /rank 0 of 2/, `${what}: the message names the rank`);
  }
  assert.is(transports[0]!.sent, before, 'nothing was sent');
  // No sequence number was used either: both ranks can go on.
  const bufs = [Float32Array.of(1, 2), Float32Array.of(10, 20)];
  await Promise.all(comms.map((comm, r) => comm.allReduce(bufs[r]!, bufs[r]!, 2, 'float32', 'sum')));
  assert.equal([...bufs[0]!], [11, 22]);
  await destroyWorld(comms);
});

test('a rank that never calls: the others reject with Timeout naming it, then stay failed', async () => {
  const comms = await createWorld(3, { timeoutMs: 300 });
  const started = Date.now();
  const errors = await within(3000, Promise.all([0, 1].map((r) => rejection(comms[r]!.allReduce(new Float32Array(4), new Float32Array(4), 4, 'float32', 'sum', { algorithm: 'ring' })))));
  assert.ok(Date.now() - started < 2000, 'rejected soon after the timeout');
  for (const error of errors) expectCode(error, 'Timeout', /waited 300 ms for rank \d in allReduce\(count=4, float32, sum\)/);
  expectCode(await rejection(comms[0]!.barrier()), 'Timeout');
  await destroyWorld(comms);
});

test('abort on one rank rejects pending and later calls everywhere', async () => {
  const comms = await createWorld(3, { timeoutMs: 20_000 });
  const pending = [0, 1].map((r) => rejection(comms[r]!.allReduce(new Int32Array(100), new Int32Array(100), 100, 'int32', 'sum')));
  await new Promise((resolve) => setTimeout(resolve, 20));
  await comms[2]!.abort();
  const errors = await within(2000, Promise.all(pending));
  for (const error of errors) expectCode(error, 'RemoteError', /rank 2 aborted/);
  expectCode(await rejection(comms[2]!.barrier()), 'InvalidUsage', /aborted by abort\(\) on this rank/);
  expectCode(await rejection(comms[0]!.barrier()), 'RemoteError');
  await destroyWorld(comms);
});

test('a dead peer (transport closed under it) fails every surviving rank quickly', async () => {
  const comms = await createWorld(4, { timeoutMs: 20_000 });
  const bufs = comms.map(() => new Float32Array(1000));
  const pending = [0, 1, 2].map((r) => rejection(comms[r]!.allReduce(bufs[r]!, bufs[r]!, 1000, 'float32', 'sum')));
  await comms[3]!.transport.close(); // as if rank 3's process died
  const errors = await within(2000, Promise.all(pending));
  for (const error of errors) expectCode(error, 'SystemError', /rank 3/);
  expectCode(await rejection(comms[1]!.allReduce(bufs[1]!, bufs[1]!, 10, 'float32', 'sum')), 'SystemError');
  await destroyWorld(comms);
});

test('a clean destroy is not a failure for the ranks that go on (in a split without it)', async () => {
  const comms = await createWorld(3);
  const subs = await Promise.all(comms.map((c) => c.split(c.rank === 0 ? null : 1)));
  assert.is(subs[0], null);
  await comms[0]!.destroy();
  await new Promise((resolve) => setTimeout(resolve, 10));
  const bufs = [Int32Array.of(1), Int32Array.of(2)];
  await Promise.all([1, 2].map((r) => subs[r]!.allReduce(bufs[r - 1]!, bufs[r - 1]!, 1, 'int32', 'sum')));
  assert.equal([bufs[0]![0], bufs[1]![0]], [3, 3]);
  expectCode(await rejection(comms[0]!.barrier()), 'InvalidUsage', /destroyed/);
  await destroyWorld([subs[1]!, subs[2]!, comms[1]!, comms[2]!]);
});

test('init: bad ids, ranks and sizes are InvalidArgument; a missing rank is a Timeout', async () => {
  expectCode(await rejection(Communicator.init({ id: 'carrier-pigeon://x', rank: 0, size: 1 })), 'InvalidArgument', /no transport knows/);
  expectCode(await rejection(Communicator.init({ id: `${INPROC_SCHEME}x`, rank: 2, size: 2 })), 'InvalidArgument', /rank 2/);
  expectCode(await rejection(Communicator.init({ id: `${INPROC_SCHEME}x`, rank: 0, size: 0 })), 'InvalidArgument', /size 0/);
  const id = await getUniqueId({ transport: 'inproc' });
  expectCode(await rejection(Communicator.init({ id, rank: 0, size: 2, timeoutMs: 100 })), 'Timeout', /rank 1/);
});

test.run();
