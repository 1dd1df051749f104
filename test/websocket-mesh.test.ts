import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { connectWebSocketMesh } from '../lib/rendezvous/worlds/websocket-world.js';
import type { Transport } from '../lib/transport/transport.js';
import { registerTransportConformance } from './transport-conformance.js';
import { within } from './within.js';

let worlds = 0;

async function meshWorld(size: number, server: RendezvousServer): Promise<Transport[]> {
  const world = `w${worlds++}`;
  return Promise.all(Array.from({ length: size }, (_, rank) => connectWebSocketMesh({ id: server.id, rank, size, world, timeoutMs: 5000 })));
}

const server = await RendezvousServer.start();
registerTransportConformance('websocket mesh', (size) => meshWorld(size, server));

test('description names the websocket mesh', async () => {
  const [a, b] = await within(meshWorld(2, server), 5000, 'world');
  assert.is(a!.description, 'websocket');
  await Promise.all([a!.close(), b!.close()]);
});

test.after(() => server.close());
test.run();
