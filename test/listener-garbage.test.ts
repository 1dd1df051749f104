// Every WebSocket port survives a stranger's protocol violations: the rendezvous server (store
// and relay), a websocket mesh rank's listener and `webccl serve` as its own process. Each
// violation is sent as raw bytes on a net.Socket after an upgrade done by hand, before the
// hello, after a refused hello and after an accepted one; it must close that one connection and
// nothing else, and a correct job must work afterwards.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { StoreClient } from '../lib/rendezvous/store-client.js';
import { nodeWebSocket } from '../lib/transport/handshake/node-web-socket.js';
import { generateSecret, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { meshAddressKey } from '../lib/rendezvous/form-mesh.js';
import { connectWebSocketMesh } from '../lib/rendezvous/worlds/websocket-world.js';
import { connectTcpMesh } from '../lib/rendezvous/worlds/tcp-world.js';
import { RawTcpPeer } from './helpers/raw-tcp-peer.js';
import { OPCODE, PROTOCOL_VIOLATIONS, RawWebSocket, wsFrame } from './helpers/raw-web-socket.js';
import { stillTalking } from './helpers/mesh-faults.js';
import { relayStillWorks, storeStillWorks } from './helpers/rendezvous-checks.js';
import { startServe } from './helpers/serve-process.js';
import { within } from './within.js';
import { RELAY_PATH } from '../lib/rendezvous/relay-notice.js';

// An 'error' event nobody listens to throws out of ws's socket handler; catch it here so that
// the test fails with what went wrong instead of the process dying.
const uncaught: Error[] = [];
process.on('uncaughtException', (error) => uncaught.push(error));

type Phase = 'before the hello' | 'after a refused hello' | 'after a store hello' | 'after a relay hello'
  | 'before the hello on the relay path' | 'after a relay hello on the relay path';

let worlds = 0;

/** Opens a raw connection to host:port and brings it to `phase`. */
async function reach(host: string, port: number, secret: string, phase: Phase): Promise<RawWebSocket> {
  if (phase === 'after a store hello') return RawWebSocket.welcomed(host, port, { secret, role: 'store' });
  const onRelayPath = phase.endsWith('on the relay path');
  const path = onRelayPath ? RELAY_PATH : '/';
  if (phase.startsWith('after a relay hello')) return RawWebSocket.welcomed(host, port, { secret, role: 'relay', world: `garbage-${worlds++}`, rank: 0, size: 2 }, path);
  const raw = await RawWebSocket.open(host, port, path);
  if (phase === 'after a refused hello') {
    raw.send(wsFrame({ opcode: OPCODE.text, payload: Buffer.from(JSON.stringify({ t: 'hello', secret: generateSecret(), role: 'store' })) }));
    await within(new Promise<void>((resolve) => raw.socket.once('data', () => resolve())), 3000, 'refusal');
  }
  return raw;
}

/** Sends every violation in every phase to host:port; each must end its own connection. */
async function attack(id: string, phases: readonly Phase[]): Promise<void> {
  const { host, port, secret } = parseUniqueId(id);
  for (const phase of phases) {
    for (const violation of PROTOCOL_VIOLATIONS) {
      const raw = await reach(host, port, secret, phase);
      raw.send(violation.bytes);
      await within(raw.closed, 5000, `the connection to close after ${violation.name} ${phase}`);
    }
  }
  assert.equal(uncaught.map((error) => error.message), []);
}

const ALL_PHASES: readonly Phase[] = [
  'before the hello', 'after a refused hello', 'after a store hello', 'after a relay hello',
  'before the hello on the relay path', 'after a relay hello on the relay path',
];

test('rendezvous server: each protocol violation, before and after the hello, closes only its own connection', async () => {
  const server = await RendezvousServer.start();
  try {
    await attack(server.id, ALL_PHASES);
    await storeStillWorks(server.id);
    await relayStillWorks(server.id);
  } finally {
    await server.close();
  }
});

test('websocket mesh listener: each protocol violation closes only its own connection; the mesh still forms', async () => {
  const server = await RendezvousServer.start();
  try {
    const world = 'garbage-mesh';
    const rank0 = connectWebSocketMesh({ id: server.id, rank: 0, size: 2, world, timeoutMs: 30_000 });
    const store = await within(StoreClient.connect({ id: server.id, WebSocket: nodeWebSocket(), timeoutMs: 3000 }), 4000, 'store');
    const [host, port] = (await within(store.getString(meshAddressKey('websocket', world, 2, 0)), 5000, 'rank 0 address')).split(':');
    store.close();
    const meshId = `webccl://${host}:${port}/${parseUniqueId(server.id).secret}`;
    await attack(meshId, ['before the hello', 'after a refused hello']);
    const rank1 = connectWebSocketMesh({ id: server.id, rank: 1, size: 2, world, timeoutMs: 10_000 });
    const [a, b] = await within(Promise.all([rank0, rank1]), 10_000, 'mesh forms after the garbage');
    await stillTalking(a, b, 0);
    await Promise.all([a.close(), b.close()]);
  } finally {
    await server.close();
  }
});

test('webccl serve: survives each protocol violation in every phase; store and relay work afterwards', async () => {
  const serve = await startServe();
  try {
    await attack(serve.id, ALL_PHASES);
    serve.assertAlive();
    await storeStillWorks(serve.id);
    await relayStillWorks(serve.id);
    serve.assertAlive();
  } finally {
    assert.is(await serve.stop(), 0, `webccl serve should exit cleanly on SIGTERM:\n${serve.stderrTail()}`);
  }
});

test('a hello whose refusal would quote long, multi-byte or control text is refused with a bounded reason (websocket and tcp ports)', async () => {
  const server = await RendezvousServer.start();
  try {
    const { port, secret } = parseUniqueId(server.id);
    const tcpId = server.id.replace(/^webccl:/, 'webccl+tcp:');
    const tcpRank0 = connectTcpMesh({ id: tcpId, rank: 0, size: 2, world: 'quoting', timeoutMs: 30_000 });
    const store = await within(StoreClient.connect({ id: server.id, WebSocket: nodeWebSocket(), timeoutMs: 3000 }), 4000, 'store');
    const tcpAddress = await within(store.getString(meshAddressKey('tcp', 'quoting', 2, 0)), 5000, 'tcp rank 0 address');
    store.close();
    // ws refuses to send a close reason over 123 bytes (it throws); the tcp mesh's refusal record stops at 4 KiB.
    for (const role of ['\u00e9'.repeat(100), '\u0001'.repeat(50), 'a'.repeat(3000)]) {
      const raw = await RawWebSocket.open('127.0.0.1', port);
      raw.send(wsFrame({ opcode: OPCODE.text, payload: Buffer.from(JSON.stringify({ t: 'hello', secret, role })) }));
      assert.is(await raw.closeFrame(), 4400);
      raw.destroy();
    }
    const peer = await RawTcpPeer.dial(tcpAddress, { secret, role: 'a'.repeat(3990) });
    const refused = await peer.nextText();
    assert.is(refused['code'], 4400);
    assert.ok(Buffer.byteLength(String(refused['reason'])) <= 123, String(refused['reason']));
    assert.equal(uncaught.map((error) => error.message), []);
    const rank1 = connectTcpMesh({ id: tcpId, rank: 1, size: 2, world: 'quoting', timeoutMs: 10_000 });
    const [a, b] = await within(Promise.all([tcpRank0, rank1]), 10_000, 'tcp mesh forms');
    await stillTalking(a, b, 0);
    await Promise.all([a.close(), b.close()]);
  } finally {
    await server.close();
  }
});

test.run();
