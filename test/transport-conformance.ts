// Conformance tests every Transport implementation must pass. A transport's suite calls
// registerTransportConformance with a factory for a connected world of N transports; each test
// builds a fresh world and closes it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Header, Message, Transport, TransportFailure } from '../lib/transport/transport.js';
import { WebcclError } from '../lib/errors.js';
import { rejection, within } from './within.js';

export type WorldFactory = (size: number) => Promise<Transport[]>;

export interface ConformanceOptions {
  /** Bytes of the large-message test (default 9 MiB + 3: several segments, odd length). */
  readonly largeBytes?: number;
  /** Per-await limit (default 5 s). */
  readonly timeoutMs?: number;
}

export function header(comm: number, seq: number, chunk = 0, kind: Header['signature']['kind'] = 'allReduce'): Header {
  return { comm, seq, chunk, signature: { kind, count: 10, dtype: 'float32', op: 'sum', root: -1 } };
}

export function pattern(bytes: number, seed: number): Uint8Array {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return data;
}

/** `a` sends messages of `sizes` to `b` back to back; each arrives intact, in order, 8-byte aligned. */
export async function mixedSizesArrive(a: Transport, b: Transport, sizes: number[]): Promise<void> {
  const sends = sizes.map((bytes, i) => a.send(b.rank, header(0, 0, i), pattern(bytes, i)));
  for (const [i, bytes] of sizes.entries()) {
    const m = await within(b.recv(a.rank, 0, 0), 5000, `message ${i}`);
    assert.is(m.header.chunk, i);
    assert.is(m.payload.byteOffset % 8, 0, `message ${i} aligned`);
    assert.equal(Buffer.from(m.payload).equals(Buffer.from(pattern(bytes, i))), true, `message ${i} (${bytes} bytes)`);
  }
  await within(Promise.all(sends), 5000, 'sends');
}

export function registerTransportConformance(name: string, makeWorld: WorldFactory, options: ConformanceOptions = {}): void {
  const ms = options.timeoutMs ?? 5000;
  const largeBytes = options.largeBytes ?? (9 << 20) + 3;
  const test = suite(`${name} conformance`);

  async function withWorld(size: number, body: (world: Transport[]) => Promise<void>): Promise<void> {
    const world = await within(makeWorld(size), ms * 2, `${name}: world of ${size}`);
    try {
      await body(world);
    } finally {
      await within(Promise.all(world.map((t) => t.close())), ms, 'close world');
    }
  }

  const sameBytes = (actual: Uint8Array, expected: Uint8Array, what: string) => {
    assert.is(actual.byteLength, expected.byteLength, `${what}: length`);
    assert.ok(Buffer.compare(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength), Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)) === 0, `${what}: bytes differ`);
  };

  test('rank, size and description', () => withWorld(3, async (world) => {
    world.forEach((t, rank) => {
      assert.is(t.rank, rank);
      assert.is(t.size, 3);
      assert.type(t.description, 'string');
    });
  }));

  test('every pair exchanges a message with header and payload intact', () => withWorld(4, async (world) => {
    const sends: Promise<void>[] = [];
    const recvs: Promise<void>[] = [];
    for (const from of world) for (const to of world) {
      if (from === to) continue;
      const h = header(3, 100 + from.rank, to.rank);
      sends.push(from.send(to.rank, h, pattern(64 + from.rank, to.rank)));
      recvs.push(to.recv(from.rank, 3, 100 + from.rank).then((m) => {
        assert.is(m.from, from.rank);
        assert.equal(m.header, h);
        sameBytes(m.payload, pattern(64 + from.rank, to.rank), `${from.rank}->${to.rank}`);
      }));
    }
    await within(Promise.all([...sends, ...recvs]), ms, 'all pairs');
  }));

  test('messages with one key arrive in the order sent; concurrent sends keep it', () => withWorld(2, async ([a, b]) => {
    const sends = Array.from({ length: 50 }, (_, i) => a!.send(1, header(0, 0, i), pattern(100 + i, i)));
    for (let i = 0; i < 50; i++) {
      const m = await within(b!.recv(0, 0, 0), ms, `message ${i}`);
      assert.is(m.header.chunk, i);
      sameBytes(m.payload, pattern(100 + i, i), `message ${i}`);
    }
    await within(Promise.all(sends), ms, 'sends');
  }));

  test('recv is keyed by (comm, seq): asking out of order gets the right messages', () => withWorld(2, async ([a, b]) => {
    await within(Promise.all([a!.send(1, header(0, 0), pattern(8, 0)), a!.send(1, header(0, 1), pattern(8, 1)), a!.send(1, header(5, 0), pattern(8, 5))]), ms, 'sends');
    const later = await within(b!.recv(0, 5, 0), ms, 'comm 5');
    assert.equal(later.header, header(5, 0));
    assert.equal((await within(b!.recv(0, 0, 1), ms, 'seq 1')).header.seq, 1);
    assert.equal((await within(b!.recv(0, 0, 0), ms, 'seq 0')).header.seq, 0);
  }));

  test('recv posted before the send waits for it', () => withWorld(2, async ([a, b]) => {
    const waiting = b!.recv(0, 1, 9);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await within(a!.send(1, header(1, 9), pattern(16, 9)), ms, 'send');
    sameBytes((await within(waiting, ms, 'recv')).payload, pattern(16, 9), 'late');
  }));

  test('empty payloads and large multi-segment payloads arrive intact', () => withWorld(2, async ([a, b]) => {
    const large = pattern(largeBytes, 3);
    await within(Promise.all([a!.send(1, header(0, 0), new Uint8Array(0)), a!.send(1, header(0, 1), large)]), ms * 2, 'sends');
    assert.is((await within(b!.recv(0, 0, 0), ms, 'empty')).payload.byteLength, 0);
    sameBytes((await within(b!.recv(0, 0, 1), ms * 2, 'large')).payload, large, 'large');
  }));

  test('the payload may be reused as soon as send resolves', () => withWorld(2, async ([a, b]) => {
    const payload = pattern(1 << 20, 1);
    await within(a!.send(1, header(0, 0), payload), ms, 'send');
    payload.fill(0);
    sameBytes((await within(b!.recv(0, 0, 0), ms, 'recv')).payload, pattern(1 << 20, 1), 'reused');
  }));

  test('control messages go to onControl listeners, not to recv', () => withWorld(2, async ([a, b]) => {
    const got = new Promise<Message>((resolve) => b!.onControl(resolve));
    await within(a!.send(1, header(0, 0, 0, 'control'), pattern(4, 4)), ms, 'send control');
    const m = await within(got, ms, 'control');
    assert.is(m.header.signature.kind, 'control');
    assert.is(m.from, 0);
    await within(a!.send(1, header(0, 0), pattern(4, 5)), ms, 'send data');
    sameBytes((await within(b!.recv(0, 0, 0), ms, 'data')).payload, pattern(4, 5), 'data after control');
  }));

  test('a bad peer rank is an InvalidArgument', () => withWorld(2, async ([a]) => {
    const error = await rejection(a!.send(7, header(0, 0), new Uint8Array(1)), ms, 'send to 7');
    assert.is((error as WebcclError).code, 'InvalidArgument');
    assert.is(((await rejection(a!.recv(-1, 0, 0), ms, 'recv from -1')) as WebcclError).code, 'InvalidArgument');
  }));

  test('close rejects pending and later calls, and is idempotent', () => withWorld(2, async ([a]) => {
    const pending = a!.recv(1, 0, 0);
    await within(a!.close(), ms, 'close');
    await within(a!.close(), ms, 'close again');
    assert.instance(await rejection(pending, ms, 'pending recv'), WebcclError);
    assert.instance(await rejection(a!.recv(1, 0, 1), ms, 'later recv'), WebcclError);
    assert.instance(await rejection(a!.send(1, header(0, 0), new Uint8Array(1)), ms, 'later send'), WebcclError);
  }));

  test('a peer that closes: survivors reject recv from it and hear of it once', () => withWorld(3, async ([a, b, c]) => {
    const failures: TransportFailure[] = [];
    b!.onFailure((failure) => failures.push(failure));
    await within(a!.send(1, header(0, 0), pattern(8, 8)), ms, 'last words');
    const pending = b!.recv(0, 0, 1);
    await within(a!.close(), ms, 'close rank 0');
    const error = await rejection(pending, ms, 'recv from closed peer');
    assert.instance(error, WebcclError);
    assert.match(error.message, /peer 0|rank 0/);
    // What arrived before the close is still delivered.
    sameBytes((await within(b!.recv(0, 0, 0), ms, 'queued before close')).payload, pattern(8, 8), 'queued');
    assert.instance(await rejection(b!.send(0, header(0, 2), new Uint8Array(1)), ms, 'send to closed peer'), WebcclError);
    assert.is(failures.length, 1);
    assert.is(failures[0]!.peer, 0);
    // Other pairs keep working.
    await within(c!.send(1, header(0, 3), pattern(8, 3)), ms, 'c->b');
    sameBytes((await within(b!.recv(2, 0, 3), ms, 'b from c')).payload, pattern(8, 3), 'c->b');
  }));

  test.run();
}
