// The shm transport (frames through the native addon's shm provider) on its own: the shared
// native mesh suite (Transport conformance, description and no /dev/shm names left, mixed sizes
// across segments; test/helpers/mesh-native-suite.ts, shared with ntcp-mesh), plus what is its
// own: receive backpressure through unposted slots, and what waited in the ring.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FramedTransport } from '../lib/transport/framed/framed-transport.js';
import { SHM_SINGLE_COPY_BYTES } from '../lib/transport/shm/shm-mesh.js';
import { registerMeshNativeSuite } from './helpers/mesh-native-suite.js';
import { header, pattern } from './transport-conformance.js';
import { within } from './within.js';

const { world: shmWorld } = await registerMeshNativeSuite('shm');

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
  const bytes = Math.floor(SHM_SINGLE_COPY_BYTES / 2);
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

test.run();
