// The raw tcp mesh against the shared Transport conformance suite, plus what is its own:
// messages larger and smaller than the reader's staging buffer, back to back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { formatUniqueId, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { connectTcpMesh } from '../lib/rendezvous/worlds/tcp-world.js';
import type { Transport } from '../lib/transport/transport.js';
import { mixedSizesArrive, registerTransportConformance } from './transport-conformance.js';
import { within } from './within.js';

const server = await RendezvousServer.start();
const id = formatUniqueId({ ...parseUniqueId(server.id), transport: 'tcp' });
let worlds = 0;

function tcpWorld(size: number, limits = {}): Promise<Transport[]> {
  const world = `t${worlds++}`;
  return Promise.all(Array.from({ length: size }, (_, rank) => connectTcpMesh({ id, rank, size, world, limits, timeoutMs: 5000 })));
}

registerTransportConformance('tcp mesh', (size) => tcpWorld(size));

test('description is tcp', async () => {
  const [a, b] = await within(tcpWorld(2), 5000, 'world');
  assert.is(a!.description, 'tcp');
  await Promise.all([a!.close(), b!.close()]);
});

test('mixed sizes back to back arrive intact, 8-byte aligned, across segment and staging boundaries', async () => {
  const [a, b] = await within(tcpWorld(2, { maxSegmentBytes: 100_000 }), 5000, 'world');
  const sizes = [0, 1, 7, 56, 8191, 8192, 8193, 99_999, 100_000, 100_001, 333_333, 3, 1 << 20];
  await mixedSizesArrive(a!, b!, sizes);
  await Promise.all([a!.close(), b!.close()]);
});

test('a clean close reaches the peer as a RemoteError, not a lost connection', async () => {
  const [a, b] = await within(tcpWorld(2), 5000, 'world');
  const pending = b!.recv(0, 0, 0);
  await a!.close();
  const error = await within(pending.then(() => undefined, (e: Error) => e), 3000, 'recv rejects');
  assert.match(String(error?.message), /^RemoteError: rank 1: peer 0 closed its connection \(1000: rank 0 closed its transport\)/);
  await b!.close();
});

test.after(() => server.close());
test.run();
