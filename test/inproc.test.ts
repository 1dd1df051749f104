// The inproc transport keeps the Transport contract: per (peer, comm, seq) FIFO queues, the
// receiver owning a copy, control messages out of band, and failures when a rank goes away.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebcclError } from '../lib/errors.js';
import { connectInproc } from '../lib/transport/inproc.js';
import type { Header, Message, TransportFailure } from '../lib/transport/transport.js';

let worlds = 0;
const fresh = () => `inproc-test-${worlds++}`;

function header(comm: number, seq: number, chunk = 0, kind: Header['signature']['kind'] = 'allReduce'): Header {
  return { comm, seq, chunk, signature: { kind, count: 3, dtype: 'float32', op: 'sum', root: -1 } };
}

test('messages are queued per (peer, comm, seq), in order, and the receiver owns a copy', async () => {
  const name = fresh();
  const [a, b] = [connectInproc(name, 0, 2), connectInproc(name, 1, 2)];
  const payload = Uint8Array.of(1, 2, 3);
  await a.send(1, header(0, 5, 0), payload);
  payload[0] = 99; // the sender may reuse its buffer once send resolved
  await a.send(1, header(0, 5, 1), Uint8Array.of(4));
  await a.send(1, header(7, 5, 0), Uint8Array.of(5));
  const other = await b.recv(0, 7, 5);
  const first = await b.recv(0, 0, 5);
  const second = await b.recv(0, 0, 5);
  assert.equal([...first.payload], [1, 2, 3]);
  assert.is(first.header.chunk, 0);
  assert.is(second.header.chunk, 1);
  assert.equal([...other.payload], [5]);
  assert.is(first.from, 0);
  // A recv posted before the message arrives is completed by it.
  const waiting = b.recv(0, 0, 6);
  await a.send(1, header(0, 6), Uint8Array.of(6));
  assert.equal([...(await waiting).payload], [6]);
  await Promise.all([a.close(), b.close()]);
});

test('messages sent before the peer joined are delivered when it does', async () => {
  const name = fresh();
  const a = connectInproc(name, 0, 2);
  await a.send(1, header(0, 1), Uint8Array.of(42));
  const b = connectInproc(name, 1, 2);
  assert.equal([...(await b.recv(0, 0, 1)).payload], [42]);
  await Promise.all([a.close(), b.close()]);
});

test('control messages go to listeners, not to recv queues', async () => {
  const name = fresh();
  const [a, b] = [connectInproc(name, 0, 2), connectInproc(name, 1, 2)];
  const seen: Message[] = [];
  b.onControl((m) => seen.push(m));
  await a.send(1, header(3, 0, 0, 'control'), Uint8Array.of(9));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.is(seen.length, 1);
  assert.is(seen[0]!.header.comm, 3);
  await Promise.all([a.close(), b.close()]);
});

test('a closing rank fails pending recvs on its peers, who are told once; queued messages stay readable', async () => {
  const name = fresh();
  const [a, b, c] = [connectInproc(name, 0, 3), connectInproc(name, 1, 3), connectInproc(name, 2, 3)];
  const failures: TransportFailure[] = [];
  b.onFailure((f) => failures.push(f));
  await a.send(1, header(0, 1), Uint8Array.of(1));
  const pending = b.recv(0, 0, 2).catch((e: unknown) => e);
  const fromC = b.recv(2, 0, 1);
  await a.close();
  await new Promise((resolve) => setTimeout(resolve, 0));
  const error = await pending;
  assert.ok(error instanceof WebcclError && error.code === 'SystemError', String(error));
  assert.match((error as Error).message, /rank 1 lost rank 0/);
  assert.equal([...(await b.recv(0, 0, 1)).payload], [1], 'delivered before the close, still readable');
  assert.is(failures.length, 1);
  assert.is(failures[0]!.peer, 0);
  const late = await b.send(0, header(0, 3), Uint8Array.of(1)).catch((e: unknown) => e);
  assert.ok(late instanceof WebcclError && late.code === 'SystemError');
  await c.send(1, header(0, 1), Uint8Array.of(2));
  assert.equal([...(await fromC).payload], [2], 'other peers are unaffected');
  await b.close();
  const closed = await b.recv(2, 0, 9).catch((e: unknown) => e);
  assert.ok(closed instanceof WebcclError && closed.code === 'SystemError');
  await c.close();
});

test('bad peers, bad sizes and double joins are refused', () => {
  const name = fresh();
  const a = connectInproc(name, 0, 2);
  assert.throws(() => connectInproc(name, 0, 2), /already joined/);
  assert.throws(() => connectInproc(name, 1, 3), /size 3 but the world has size 2/);
  assert.throws(() => connectInproc(name, 2, 2), /outside/);
  assert.throws(() => a.recv(0, 0, 0), /cannot recv/);
  void a.close();
});

test('a finished world name can be used again', async () => {
  const name = fresh();
  for (let round = 0; round < 2; round++) {
    const [a, b] = [connectInproc(name, 0, 2), connectInproc(name, 1, 2)];
    await a.send(1, header(0, 0), Uint8Array.of(round));
    assert.equal([...(await b.recv(0, 0, 0)).payload], [round]);
    await Promise.all([a.close(), b.close()]);
  }
});

test.run();
