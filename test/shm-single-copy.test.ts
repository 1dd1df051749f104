// The shm transport's single-copy path (segments of SHM_SINGLE_COPY_BYTES or more go by
// reference: a descriptor through the ring, then the receiver reads the bytes straight into
// the message with process_vm_readv and acks): sizes straddling the threshold and odd sizes
// arrive intact and take the path they should; such a send is a rendezvous (it waits for a
// paused reader); a sender that closes before its descriptors are read never has them read;
// a rank SIGKILLed while large segments move makes the survivors reject, leaving nothing;
// acks ride on descriptors; sends a closing reader never read fail at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShmEndpoint } from '../lib/native/shm.js';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { formatUniqueId, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { SHM_REFERENCE_SEGMENT_BYTES, SHM_SEGMENT_BYTES, SHM_SINGLE_COPY_BYTES } from '../lib/transport/shm/shm-mesh.js';
import type { Transport } from '../lib/transport/transport.js';
import { connectNativeMesh, requireAddon } from './helpers/native-transports.js';
import { header, pattern } from './transport-conformance.js';
import { within } from './within.js';

const addon = requireAddon('shm');

const server = await RendezvousServer.start();
const id = formatUniqueId({ ...parseUniqueId(server.id), transport: 'shm' });
let worlds = 0;

function shmWorld(size: number, limits = {}): Promise<Transport[]> {
  const world = `c${worlds++}`;
  return Promise.all(Array.from({ length: size }, (_, rank) => connectNativeMesh('shm', { id, rank, size, world, limits, timeoutMs: 5000 }, addon)));
}

/** Counts the bytes read by reference (single copy) while `body` runs. */
async function countReads(body: () => Promise<void>): Promise<number[]> {
  const read = ShmEndpoint.prototype.read;
  const sizes: number[] = [];
  ShmEndpoint.prototype.read = function (this: ShmEndpoint, view: ArrayBufferView, address: number) {
    sizes.push(view.byteLength);
    return read.call(this, view, address);
  };
  try {
    await body();
  } finally {
    ShmEndpoint.prototype.read = read;
  }
  return sizes;
}

test('sizes straddling the threshold and odd sizes arrive intact, large messages by reference in one frame, both ways at once', async () => {
  const t = SHM_SINGLE_COPY_BYTES;
  const segment = t + 12_345;
  const [a, b] = await within(shmWorld(2, { maxSegmentBytes: segment }), 5000, 'world');
  const sizes = [1, t - 1, t, t + 1, 3 * t + 7, segment, segment + 1, 2 * segment + t, 999_999];
  const reads = await countReads(async () => {
    const sends = sizes.flatMap((bytes, i) => [a!.send(1, header(0, 0, i), pattern(bytes, i)), b!.send(0, header(0, 0, i), pattern(bytes, i + 1))]);
    for (const [i, bytes] of sizes.entries()) {
      for (const [to, from, fill] of [[b!, 0, i], [a!, 1, i + 1]] as const) {
        const m = await within(to.recv(from, 0, 0), 5000, `message ${i}`);
        assert.is(m.header.chunk, i);
        assert.equal(Buffer.from(m.payload).equals(Buffer.from(pattern(bytes, fill))), true, `message ${i} (${bytes} bytes)`);
      }
    }
    await within(Promise.all(sends), 5000, 'sends');
  });
  // Every message of t bytes or more went by reference as one frame (not cut at the ring's
  // segment size), every smaller one through the ring.
  const expected = sizes.filter((bytes) => bytes >= t).sort((x, y) => x - y);
  assert.equal(reads.sort((x, y) => x - y), [...expected, ...expected].sort((x, y) => x - y));
  await Promise.all([a!.close(), b!.close()]);
});

test('messages above the reference frame size are cut there; a tail too large for a slot goes by reference below the threshold', async () => {
  const previous = process.env['WEBCCL_SHM_SINGLE_COPY_BYTES'];
  const threshold = 2 * SHM_SEGMENT_BYTES; // above the ring's slot: a tail between the two needs the rule
  process.env['WEBCCL_SHM_SINGLE_COPY_BYTES'] = String(threshold);
  let world: Transport[];
  try {
    world = await within(shmWorld(2), 5000, 'world');
  } finally {
    if (previous === undefined) delete process.env['WEBCCL_SHM_SINGLE_COPY_BYTES'];
    else process.env['WEBCCL_SHM_SINGLE_COPY_BYTES'] = previous;
  }
  const [a, b] = world;
  const r = SHM_REFERENCE_SEGMENT_BYTES;
  const tail = SHM_SEGMENT_BYTES + 4321;
  const sizes = [r + 5, r + tail, threshold - 1];
  const reads = await countReads(async () => {
    const sends = sizes.map((bytes, i) => a!.send(1, header(0, 0, i), pattern(bytes, i)));
    for (const [i, bytes] of sizes.entries()) {
      const m = await within(b!.recv(0, 0, 0), 5000, `message ${i}`);
      assert.equal(Buffer.from(m.payload).equals(Buffer.from(pattern(bytes, i))), true, `message ${i} (${bytes} bytes)`);
    }
    await within(Promise.all(sends), 5000, 'sends');
  });
  // r + 5: r by reference, 5 through the ring; r + tail: both by reference; below the threshold: the ring.
  assert.equal(reads, [r, r, tail]);
  await Promise.all([a!.close(), b!.close()]);
});

test('a send by reference is a rendezvous: it waits for a paused reader, and completes once read', async () => {
  const [a, b] = await within(shmWorld(2, { receiveHighWaterBytes: 1 }), 5000, 'world');
  const bytes = 4 * SHM_SINGLE_COPY_BYTES;
  let sent = 0;
  const sends = Array.from({ length: 8 }, (_, i) => a!.send(1, header(0, 0, i), pattern(bytes, i)).then(() => { sent++; }));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.ok(sent < 8, `the sender waits for the paused reader (${sent} of 8 done)`);
  for (let i = 0; i < 8; i++) {
    const m = await within(b!.recv(0, 0, 0), 5000, `message ${i}`);
    assert.equal(Buffer.from(m.payload).equals(Buffer.from(pattern(bytes, i))), true, `message ${i}`);
  }
  await within(Promise.all(sends), 5000, 'sends');
  await Promise.all([a!.close(), b!.close()]);
});

test('descriptors a closed sender left unread are never read: the receiver fails, no stale bytes', async () => {
  const [a, b] = await within(shmWorld(2, { receiveHighWaterBytes: 1 }), 5000, 'world');
  const bytes = 2 * SHM_SINGLE_COPY_BYTES;
  const sends = Array.from({ length: 8 }, (_, i) => a!.send(1, header(0, 0, i), pattern(bytes, i)));
  for (const send of sends) send.catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 200));
  await a!.close();
  const outcomes = await within(Promise.allSettled(sends), 5000, 'sends settle');
  const failedFrom = outcomes.findIndex((outcome) => outcome.status === 'rejected');
  assert.ok(failedFrom > 0, 'the sends the paused reader had not read fail with the close');
  // What was read before the close arrives intact; nothing after it is delivered as data.
  for (let i = 0; i < failedFrom; i++) {
    const m = await within(b!.recv(0, 0, 0), 5000, `message ${i}`);
    assert.equal(Buffer.from(m.payload).equals(Buffer.from(pattern(bytes, i))), true, `message ${i}`);
  }
  const error = await within(b!.recv(0, 0, 0).then(() => undefined, (e: Error) => e), 5000, 'the recv after the close');
  assert.match(String(error), /closed/);
  await b!.close();
});

/** Counts the standalone acks (8-byte sends) posted while `body` runs. */
async function countAckPosts(body: () => Promise<void>): Promise<number> {
  const { send, sendNow } = ShmEndpoint.prototype;
  let acks = 0;
  ShmEndpoint.prototype.send = function (this: ShmEndpoint, key: number, offset: number, length: number, inline?: Uint8Array) {
    if (length === 8) acks++;
    return send.call(this, key, offset, length, inline);
  };
  // An ack that goes straight into the ring (sendNow: no header, 8 bytes) is one too.
  ShmEndpoint.prototype.sendNow = function (this: ShmEndpoint, header: Uint8Array, payload: Uint8Array) {
    const sent = sendNow.call(this, header, payload);
    if (sent && header.byteLength + payload.byteLength === 8) acks++;
    return sent;
  };
  try {
    await body();
  } finally {
    Object.assign(ShmEndpoint.prototype, { send, sendNow });
  }
  return acks;
}

test('a read landed with answeredAtOnce and answered in the same turn is acked by the answer\'s descriptor; other reads at once', async () => {
  const [a, b] = await within(shmWorld(2), 5000, 'world');
  const bytes = 2 * SHM_SINGLE_COPY_BYTES + 8;
  for (const answered of [true, false]) {
    const acks = await countAckPosts(async () => {
      for (let round = 0; round < 3; round++) {
        const there = header(0, 0, 2 * round);
        const target = new Uint8Array(bytes);
        // b folds nothing here: the landing is a copy, and b answers in the continuation of its receive (a ring step).
        b!.land!(0, there, { target, elementBytes: 1, ...(answered && { answeredAtOnce: true }) });
        const sent = a!.send(1, there, pattern(bytes, round));
        const back = b!.recv(0, 0, 0).then((m) => {
          assert.ok(m.payload === target, 'the message landed');
          assert.equal(Buffer.from(target).equals(Buffer.from(pattern(bytes, round))), true, `round ${round} there`);
          return b!.send(0, header(0, 0, 2 * round + 1), pattern(bytes, round + 7));
        });
        const m = await within(a!.recv(1, 0, 0), 5000, `round ${round} back`);
        assert.equal(Buffer.from(m.payload).equals(Buffer.from(pattern(bytes, round + 7))), true, `round ${round} back`);
        await within(Promise.all([sent, back]), 5000, `round ${round} sends`);
      }
    });
    // a's reads are acked at once (one post each); b's ride on its descriptors when it said it answers at once.
    assert.is(acks, answered ? 3 : 6, answered ? 'answered at once' : 'not answered at once');
  }
  await Promise.all([a!.close(), b!.close()]);
});

test('sends by reference that a closing reader never read fail at once, not at a timeout', async () => {
  const [a, b] = await within(shmWorld(2, { receiveHighWaterBytes: 1 }), 5000, 'world');
  const bytes = 2 * SHM_SINGLE_COPY_BYTES;
  const sends = Array.from({ length: 6 }, (_, i) => a!.send(1, header(0, 0, i), pattern(bytes, i)));
  for (const send of sends) send.catch(() => {});
  const first = await within(b!.recv(0, 0, 0), 5000, 'message 0');
  assert.equal(Buffer.from(first.payload).equals(Buffer.from(pattern(bytes, 0))), true, 'message 0');
  await b!.close();
  const outcomes = await within(Promise.allSettled(sends), 2000, 'the sends settle once the reader closed');
  assert.is(outcomes[0]!.status, 'fulfilled');
  assert.ok(outcomes.some((outcome) => outcome.status === 'rejected'), 'the sends never read fail');
  await a!.close();
});

test.after(() => server.close());
test.run();
