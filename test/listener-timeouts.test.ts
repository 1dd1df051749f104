// Strangers are dropped within seconds by every WebSocket listener (the rendezvous server and a
// rank's websocket mesh listener): one that sends nothing after upgrading, one whose hello is
// wrong and that never answers the close frame, one that trickles HTTP headers, one that holds
// an idle TCP connection. Ranks themselves, once welcomed, may stay idle as long as they like.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { StoreClient } from '../lib/rendezvous/store-client.js';
import { nodeWebSocket } from '../lib/transport/handshake/node-web-socket.js';
import { meshAddressKey } from '../lib/rendezvous/form-mesh.js';
import { connectWebSocketMesh } from '../lib/rendezvous/worlds/websocket-world.js';
import { RawStranger } from './helpers/raw-stranger.js';
import { within } from './within.js';

/** Generous bounds (a loaded 2-core machine); before the fix these took 30 to 60 s. */
const BOUNDS_MS = { silent: 9000, wrongHello: 4000, trickle: 7000, idle: 7000 };

async function timeStrangers(host: string, port: number, where: string): Promise<void> {
  const silent = await RawStranger.connect(host, port);
  await silent.upgrade();
  const wrongHello = await RawStranger.connect(host, port);
  await wrongHello.upgrade();
  wrongHello.sendText(JSON.stringify({ t: 'hello', secret: '0'.repeat(32), role: 'store' }));
  const trickle = await RawStranger.connect(host, port);
  trickle.trickleHeaders(300);
  const idle = await RawStranger.connect(host, port);
  const strangers = { silent, wrongHello, trickle, idle };
  try {
    const times = await within(Promise.all(Object.values(strangers).map((s) => s.dropped)), 15_000, `${where}: strangers dropped`);
    const measured = Object.fromEntries(Object.keys(strangers).map((name, i) => [name, times[i]!]));
    console.log(`# ${where}: strangers dropped after (ms) ${JSON.stringify(measured)}`);
    for (const [name, ms] of Object.entries(measured)) {
      assert.ok(ms < BOUNDS_MS[name as keyof typeof BOUNDS_MS], `${where}: the ${name} stranger was held ${ms} ms`);
    }
  } finally {
    Object.values(strangers).forEach((s) => s.destroy());
  }
}

test('rendezvous server: strangers are dropped within seconds; a welcomed client may idle', async () => {
  const server = await RendezvousServer.start({ host: '127.0.0.1' });
  try {
    const client = await StoreClient.connect({ id: server.id, WebSocket: nodeWebSocket(), timeoutMs: 3000 });
    await timeStrangers(server.host, server.port, 'rendezvous server');
    // The client idled through every timeout the strangers met.
    await within(client.set('still', 'here'), 2000, 'set after idling');
    assert.is(await within(client.getString('still'), 2000, 'get'), 'here');
    client.close();
  } finally {
    await server.close();
  }
});

test('websocket mesh listener: strangers are dropped within seconds while the mesh forms', async () => {
  const server = await RendezvousServer.start({ host: '127.0.0.1' });
  try {
    const world = 'strangers-timed';
    const rank0 = connectWebSocketMesh({ id: server.id, rank: 0, size: 2, world, timeoutMs: 30_000 });
    const store = await StoreClient.connect({ id: server.id, WebSocket: nodeWebSocket(), timeoutMs: 3000 });
    const address = await within(store.getString(meshAddressKey('websocket', world, 2, 0)), 3000, 'rank 0 address');
    store.close();
    const [, host, port] = /^(.*):(\d+)$/.exec(address)!;
    await timeStrangers(host!, Number(port), 'ws mesh listener');
    const rank1 = connectWebSocketMesh({ id: server.id, rank: 1, size: 2, world, timeoutMs: 5000 });
    const [a, b] = await within(Promise.all([rank0, rank1]), 6000, 'the mesh still forms');
    await Promise.all([a.close(), b.close()]);
  } finally {
    await server.close();
  }
});

test.run();
