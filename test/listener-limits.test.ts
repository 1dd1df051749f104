// What a stranger can make a listener hold before its hello is bounded: a few KiB per
// connection (then it is cut off; an admitted session may send full-size messages) and
// MAX_PENDING_HELLOS connections per listener (the one that waited longest is dropped, so a
// real rank still gets in). The last test measures a listening rank 0 in its own process under
// 200 strangers per port, each holding an unfinished large hello.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { StoreClient } from '../lib/rendezvous/store-client.js';
import { nodeWebSocket } from '../lib/transport/handshake/node-web-socket.js';
import { MAX_UNADMITTED_BYTES } from '../lib/transport/handshake/hello-gate.js';
import { MAX_PENDING_HELLOS } from '../lib/transport/handshake/pending-hellos.js';
import { parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { meshAddressKey } from '../lib/rendezvous/form-mesh.js';
import { connectWebSocketMesh } from '../lib/rendezvous/worlds/websocket-world.js';
import { connectTcpMesh } from '../lib/rendezvous/worlds/tcp-world.js';
import { TEXT_HEAD_BYTES, TEXT_MAGIC } from '../lib/transport/tcp/text-record.js';
import type { Transport } from '../lib/transport/transport.js';
import { OPCODE, RawWebSocket, upgradeRequest, wsFrame } from './helpers/raw-web-socket.js';
import { ListenerHost, type Port } from './helpers/listener-host.js';
import { stillTalking } from './helpers/mesh-faults.js';
import { within } from './within.js';

const MiB = 1 << 20;

/** A text frame whose header promises `claimed` bytes, and `sent` of them: an unfinished hello. */
function unfinishedHello(claimed: number, sent: number): Buffer {
  return wsFrame({ opcode: OPCODE.text, claimedLength: claimed, payload: Buffer.alloc(sent, 0x20) });
}

/** The same for the tcp mesh: a text record head promising `claimed` bytes, and `sent` of them. */
function unfinishedTcpHello(claimed: number, sent: number): Buffer {
  const head = Buffer.alloc(TEXT_HEAD_BYTES);
  head.writeUInt32LE(TEXT_MAGIC, 0);
  head.writeUInt32LE(claimed, 4);
  return Buffer.concat([head, Buffer.alloc(sent, 0x20)]);
}

/** A listening rank 0 of a 2-rank mesh whose hello deadline is far away, and its address. */
async function listeningRank0(server: RendezvousServer, kind: 'websocket' | 'tcp', world: string): Promise<{ rank0: Promise<Transport>; at: Port }> {
  const connectMesh = kind === 'tcp' ? connectTcpMesh : connectWebSocketMesh;
  const rank0 = connectMesh({ id: server.id, rank: 0, size: 2, world, timeoutMs: 30_000 });
  const store = await within(StoreClient.connect({ id: server.id, WebSocket: nodeWebSocket(), timeoutMs: 3000 }), 4000, 'store');
  const [host, port] = (await within(store.getString(meshAddressKey(kind, world, 2, 0)), 5000, 'rank 0 address')).split(':');
  store.close();
  return { rank0, at: { host: host!, port: Number(port) } };
}

async function meshStillForms(server: RendezvousServer, kind: 'websocket' | 'tcp', world: string, rank0: Promise<Transport>): Promise<void> {
  const connectMesh = kind === 'tcp' ? connectTcpMesh : connectWebSocketMesh;
  const rank1 = connectMesh({ id: server.id, rank: 1, size: 2, world, timeoutMs: 10_000 });
  const [a, b] = await within(Promise.all([rank0, rank1]), 10_000, `${kind} mesh forms`);
  await stillTalking(a, b, 0);
  await Promise.all([a.close(), b.close()]);
}

test('a stranger that sends more than a few KiB before its hello is cut off; an admitted session may send MiBs', async () => {
  const server = await RendezvousServer.start({ helloTimeoutMs: 30_000 });
  try {
    const { rank0, at } = await listeningRank0(server, 'websocket', 'too-much');
    for (const [name, port] of [['rendezvous', parseUniqueId(server.id).port], ['websocket mesh', at.port]] as const) {
      const raw = await RawWebSocket.open('127.0.0.1', port);
      raw.send(unfinishedHello(4 * MiB, 2 * MAX_UNADMITTED_BYTES));
      await within(raw.closed, 5000, `${name}: the stranger to be cut off`);
    }
    const client = await within(StoreClient.connect({ id: server.id, WebSocket: nodeWebSocket(), timeoutMs: 3000 }), 4000, 'store');
    const big = 'x'.repeat(MiB);
    await within(client.set('big', big), 5000, 'a 1 MiB set');
    assert.is((await within(client.getString('big'), 5000, 'get')).length, MiB);
    client.close();
    await meshStillForms(server, 'websocket', 'too-much', rank0);
  } finally {
    await server.close();
  }
});

/** Opens `count` silent connections to `at`, one after another (upgraded, for websocket ports). */
async function silentStrangers(at: Port, kind: 'websocket' | 'tcp', count: number): Promise<{ socket: Socket; closed: Promise<void> }[]> {
  const strangers: { socket: Socket; closed: Promise<void> }[] = [];
  for (let i = 0; i < count; i++) {
    if (kind === 'websocket') {
      const raw = await RawWebSocket.open(at.host, at.port);
      strangers.push({ socket: raw.socket, closed: raw.closed });
    } else {
      const socket = connect({ host: at.host, port: at.port });
      socket.on('error', () => {});
      await within(new Promise((resolve) => socket.once('connect', resolve)), 3000, 'connect');
      strangers.push({ socket, closed: new Promise((resolve) => socket.once('close', () => resolve())) });
    }
  }
  return strangers;
}

test(`at most ${MAX_PENDING_HELLOS} strangers wait for a hello on each listener, the oldest dropped first; real ranks still get in`, async () => {
  const server = await RendezvousServer.start({ helloTimeoutMs: 30_000 });
  const extra = 16;
  try {
    const ws = await listeningRank0(server, 'websocket', 'crowd-ws');
    const tcp = await listeningRank0(server, 'tcp', 'crowd-tcp');
    const { host, port } = parseUniqueId(server.id);
    const listeners = [['rendezvous', { host, port }, 'websocket'], ['websocket mesh', ws.at, 'websocket'], ['tcp mesh', tcp.at, 'tcp']] as const;
    for (const [name, at, kind] of listeners) {
      const strangers = await silentStrangers(at, kind, MAX_PENDING_HELLOS + extra);
      await within(Promise.all(strangers.slice(0, extra).map((stranger) => stranger.closed)), 5000, `${name}: the ${extra} oldest strangers dropped`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.is(strangers.filter((stranger) => stranger.socket.destroyed).length, extra, `${name}: only the oldest are dropped`);
      strangers.forEach((stranger) => stranger.socket.destroy());
    }
    // A full crowd again, and real callers anyway: each pushes the oldest stranger out.
    const crowds = await Promise.all(listeners.map(([, at, kind]) => silentStrangers(at, kind, MAX_PENDING_HELLOS)));
    const client = await within(StoreClient.connect({ id: server.id, WebSocket: nodeWebSocket(), timeoutMs: 3000 }), 4000, 'store past the crowd');
    await within(client.set('k', 'v'), 2000, 'set');
    client.close();
    await meshStillForms(server, 'websocket', 'crowd-ws', ws.rank0);
    await meshStillForms(server, 'tcp', 'crowd-tcp', tcp.rank0);
    crowds.flat().forEach((stranger) => stranger.socket.destroy());
  } finally {
    await server.close();
  }
});

/** Opens a connection to `at` and sends `bytes` (after an upgrade for websocket ports); settles once they are written or the connection is gone. */
async function stranger(at: Port, kind: 'websocket' | 'tcp', bytes: Buffer): Promise<Socket> {
  const socket = connect({ host: at.host, port: at.port });
  socket.on('error', () => {});
  await new Promise((resolve) => { socket.once('connect', resolve); socket.once('close', resolve); });
  if (kind === 'websocket') {
    socket.write(upgradeRequest(at.host, at.port));
    await new Promise((resolve) => { socket.once('data', resolve); socket.once('close', resolve); });
  }
  await new Promise((resolve) => {
    socket.write(bytes, resolve);
    socket.once('close', resolve);
  });
  return socket;
}

test('rank 0 under 200 strangers per port, each holding an unfinished large hello: its memory stays bounded, and the job runs', async () => {
  const host = await ListenerHost.start(60_000);
  const strangers: Socket[] = [];
  try {
    const before = await host.memory();
    const perPort = 200;
    for (const { at, kind } of host.ports) {
      const hello = kind === 'websocket' ? unfinishedHello(4 * MiB, MiB / 2) : unfinishedTcpHello(4096, 4000);
      for (let i = 0; i < perPort; i += 20) {
        strangers.push(...await within(Promise.all(Array.from({ length: 20 }, () => stranger(at, kind, hello))), 20_000, 'strangers'));
      }
    }
    // Let the listener read what it will.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const under = await host.memory();
    const open = strangers.filter((socket) => !socket.destroyed && !socket.readableEnded).length;
    const growth = (key: 'rss' | 'arrayBuffers' | 'external') => ((under[key] - before[key]) / MiB).toFixed(1);
    console.log(`# rank 0 under ${perPort} strangers per port (${strangers.length} in all, ${open} still open; websocket: 512 KiB of a 4 MiB hello each, tcp: 4000 B of a 4 KiB hello): `
      + `rss ${(before.rss / MiB).toFixed(1)} -> ${(under.rss / MiB).toFixed(1)} MiB (+${growth('rss')}), external +${growth('external')} MiB, arrayBuffers +${growth('arrayBuffers')} MiB`);
    host.assertAlive();
    // Unbounded, the websocket ports alone would hold 2 x 200 x 512 KiB = 200 MiB.
    assert.ok(under.arrayBuffers - before.arrayBuffers < 32 * MiB, `arrayBuffers grew by ${growth('arrayBuffers')} MiB`);
    assert.ok(under.rss - before.rss < 96 * MiB, `rss grew by ${growth('rss')} MiB`);
    await host.runJob();
  } finally {
    strangers.forEach((socket) => socket.destroy());
    await host.stop();
  }
});

test.run();
