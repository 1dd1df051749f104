// The shm transport (frames through the native addon's shm provider) against the shared
// Transport conformance suite, plus what is its own: frames of every size around the slot,
// receive backpressure through unposted slots, and no /dev/shm names left once a world formed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { describeUnavailable, loadNative } from '../lib/native/load.js';
import { shmPrefix } from '../lib/native/shm.js';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { formatUniqueId, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { connectShmMesh } from '../lib/rendezvous/worlds/shm-world.js';
import type { FramedTransport } from '../lib/transport/framed/framed-transport.js';
import { SHM_SINGLE_COPY_BYTES } from '../lib/transport/shm/shm-mesh.js';
import type { Transport } from '../lib/transport/transport.js';
import { header, pattern, registerTransportConformance } from './transport-conformance.js';
import { within } from './within.js';

// SHM_ADDON: another build of the addon to run the suite against (checking a fix fails before it).
const addon = loadNative(process.env['SHM_ADDON']);
if (!('addon' in addon)) throw new Error(`the shm suite needs the addon: ${describeUnavailable(addon)}`);

const server = await RendezvousServer.start();
const id = formatUniqueId({ ...parseUniqueId(server.id), transport: 'shm' });
const { secret } = parseUniqueId(id);
let worlds = 0;

function shmWorld(size: number, limits = {}): Promise<Transport[]> {
  const world = `s${worlds++}`;
  return Promise.all(Array.from({ length: size }, (_, rank) => connectShmMesh({ id, rank, size, world, limits, timeoutMs: 5000 }, addon)));
}

const leftovers = () => readdirSync('/dev/shm').filter((name) => name.includes(shmPrefix(secret)));

registerTransportConformance('shm mesh', (size) => shmWorld(size));

test('description is shm; a formed world leaves no names in /dev/shm', async () => {
  const [a, b, c] = await within(shmWorld(3), 5000, 'world');
  assert.is(a!.description, 'shm');
  assert.equal(leftovers(), []);
  await Promise.all([a!.close(), b!.close(), c!.close()]);
  assert.equal(leftovers(), []);
});

test('mixed sizes back to back arrive intact and 8-byte aligned, across segment boundaries', async () => {
  const [a, b] = await within(shmWorld(2, { maxSegmentBytes: 100_000 }), 5000, 'world');
  const sizes = [0, 1, 7, 56, 8191, 99_999, 100_000, 100_001, 333_333, 3, 5 << 20];
  const sends = sizes.map((bytes, i) => a!.send(1, header(0, 0, i), pattern(bytes, i)));
  for (const [i, bytes] of sizes.entries()) {
    const m = await within(b!.recv(0, 0, 0), 5000, `message ${i}`);
    assert.is(m.header.chunk, i);
    assert.is(m.payload.byteOffset % 8, 0, `message ${i} aligned`);
    assert.equal(Buffer.from(m.payload).equals(Buffer.from(pattern(bytes, i))), true, `message ${i} (${bytes} bytes)`);
  }
  await within(Promise.all(sends), 5000, 'sends');
  await Promise.all([a!.close(), b!.close()]);
});

test('an unclaimed pile stops the receiver reading (the sender waits), and claiming resumes it', async () => {
  const [a, b] = await within(shmWorld(2, { receiveHighWaterBytes: 1 << 20 }), 5000, 'world');
  let sent = 0;
  const sends = Array.from({ length: 40 }, (_, i) => a!.send(1, header(0, 0, i), pattern(256 << 10, i)).then(() => { sent++; }));
  await new Promise((resolve) => setTimeout(resolve, 300));
  // 10 MiB offered; the receiver holds about 1 MiB unclaimed plus what the slots and ring take.
  assert.ok(sent < 40, `the sender was held back (${sent} of 40 sent)`);
  assert.ok((b as FramedTransport).queuedBytes(0) <= (2 << 20), `queued ${(b as FramedTransport).queuedBytes(0)}`);
  for (let i = 0; i < 40; i++) {
    const m = await within(b!.recv(0, 0, 0), 5000, `message ${i}`);
    assert.is(m.header.chunk, i);
  }
  await within(Promise.all(sends), 5000, 'sends');
  await Promise.all([a!.close(), b!.close()]);
});

test('what a peer sent before it closed is delivered, even what waited in the ring for a posted receive', async () => {
  const [a, b] = await within(shmWorld(2, { receiveHighWaterBytes: 1 }), 5000, 'world');
  // The receiver pauses after the first message: three more fill its posted slots, the last
  // two stay in its ring until it reads again (after the sender has closed). Below the single
  // copy threshold, so they take the ring (larger ones are a rendezvous: shm-single-copy.test).
  const bytes = SHM_SINGLE_COPY_BYTES / 2;
  await within(Promise.all(Array.from({ length: 6 }, (_, i) => a!.send(1, header(0, 0, i), pattern(bytes, i)))), 5000, 'sends');
  await a!.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (let i = 0; i < 6; i++) {
    const m = await within(b!.recv(0, 0, 0), 5000, `message ${i}`);
    assert.is(m.header.chunk, i);
    assert.equal(Buffer.from(m.payload).equals(Buffer.from(pattern(bytes, i))), true, `message ${i}`);
  }
  await b!.close();
});

test.after(() => server.close());
test.run();
