// The mesh under abuse: strangers, garbage, oversized frames and a reader that does not read.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { StoreClient } from '../lib/rendezvous/store-client.js';
import { nodeWebSocket } from '../lib/transport/handshake/node-web-socket.js';
import { parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { connectWebSocketMesh } from '../lib/rendezvous/worlds/websocket-world.js';
import { meshAddressKey } from '../lib/rendezvous/form-mesh.js';
import { HEADER_BYTES, encodeFrame, encodeFrameHeader } from '../lib/transport/frame.js';
import type { Transport, TransportFailure } from '../lib/transport/transport.js';
import { header } from './transport-conformance.js';
import { rejection, within } from './within.js';
import { checkBoundedBackpressure, SLOW_READER_LIMITS, stillTalking, strangerHellos } from './helpers/mesh-faults.js';

const server = await RendezvousServer.start();
const limits = { maxSegmentBytes: 64 << 10 };

/** Dials a real rank the way a rank would, with whatever hello the test wants. */
async function dial(world: string, size: number, to: number, hello: Record<string, unknown>): Promise<WebSocket> {
  const store = await StoreClient.connect({ id: server.id, WebSocket: nodeWebSocket(), timeoutMs: 3000 });
  const address = await within(store.getString(meshAddressKey('websocket', world, size, to)), 3000, 'address');
  store.close();
  const socket = new WebSocket(`ws://${address}/`, { perMessageDeflate: false });
  await within(new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); }), 2000, 'open');
  socket.send(JSON.stringify({ t: 'hello', role: 'mesh', world, size, to, ...hello }));
  return socket;
}

function closeOf(socket: WebSocket): Promise<[number, string]> {
  return new Promise((resolve) => socket.once('close', (code, reason) => resolve([code, reason.toString()])));
}

function welcomed(socket: WebSocket): Promise<unknown> {
  return within(new Promise((resolve) => socket.once('message', resolve)), 2000, 'welcome');
}

/** Ranks 0 and 1 real, rank 2 a raw socket the test drives. */
async function worldWithImpostor(world: string): Promise<{ real: Transport[]; fake: WebSocket[] }> {
  const { secret } = parseUniqueId(server.id);
  const joining = Promise.all([0, 1].map((rank) => connectWebSocketMesh({ id: server.id, rank, size: 3, world, limits, timeoutMs: 5000 })));
  const fake = await Promise.all([0, 1].map(async (to) => {
    const socket = await dial(world, 3, to, { secret, rank: 2 });
    await welcomed(socket);
    return socket;
  }));
  return { real: await within(joining, 5000, 'mesh'), fake };
}

test('strangers are refused with a reason (wrong secret, unknown or duplicate rank); the mesh still forms', async () => {
  const world = 'strangers';
  const { secret } = parseUniqueId(server.id);
  // Only rank 0 is real at first, so it keeps listening (it still waits for ranks 1 and 2).
  const rank0 = connectWebSocketMesh({ id: server.id, rank: 0, size: 3, world, timeoutMs: 5000 });
  const impostor = await dial(world, 3, 0, { secret, rank: 2 });
  await welcomed(impostor);
  for (const [hello, code, reason] of strangerHellos(secret)) {
    const [actualCode, actualReason] = await within(closeOf(await dial(world, 3, 0, hello)), 2000, `refusal ${code}`);
    assert.is(actualCode, code);
    assert.match(actualReason, reason);
  }
  const rank1 = connectWebSocketMesh({ id: server.id, rank: 1, size: 3, world, timeoutMs: 5000 });
  const impostorTo1 = await dial(world, 3, 1, { secret, rank: 2 });
  await welcomed(impostorTo1);
  const [a, b] = await within(Promise.all([rank0, rank1]), 5000, 'mesh forms');
  await stillTalking(a, b, 0);
  impostor.terminate();
  impostorTo1.terminate();
  await Promise.all([a.close(), b.close()]);
});

test('a garbage frame closes that connection with a clear error; the others keep working', async () => {
  const { real: [a, b], fake } = await worldWithImpostor('garbage');
  const failures: TransportFailure[] = [];
  a!.onFailure((failure) => failures.push(failure));
  const pending = rejection(a!.recv(2, 0, 0), 3000, 'recv from the impostor');
  const closed = closeOf(fake[0]!);
  fake[0]!.send(new Uint8Array(200).fill(0x5a));
  const error = await pending;
  assert.match(error.message, /^SystemError: rank 0: closing the connection to peer 2: bad frame: wrong magic 0x5a5a5a5a/);
  assert.is((await within(closed, 2000, 'impostor closed'))[0], 4402);
  assert.is(failures.length, 1);
  assert.is(failures[0]!.peer, 2);
  await stillTalking(a!, b!, 1);
  await stillTalking(b!, a!, 2);
  fake.forEach((s) => s.terminate());
  await Promise.all([a!.close(), b!.close()]);
});

test('an oversized frame closes that connection with a clear error; the others keep working', async () => {
  const { real: [a, b], fake } = await worldWithImpostor('oversized');
  const pending = rejection(b!.recv(2, 0, 0), 3000, 'recv from the impostor');
  fake[1]!.send(new Uint8Array(HEADER_BYTES + limits.maxSegmentBytes + 1));
  assert.is((await pending).message, `SystemError: rank 1: closing the connection to peer 2: a binary message of more than ${HEADER_BYTES + limits.maxSegmentBytes} bytes`);
  await stillTalking(a!, b!, 1);
  fake.forEach((s) => s.terminate());
  await Promise.all([a!.close(), b!.close()]);
});

test('a frame whose header lies about its length or sender is garbage too', async () => {
  const { real: [a, b], fake } = await worldWithImpostor('liars');
  const fromA = rejection(a!.recv(2, 0, 0), 3000, 'a from impostor');
  const fromB = rejection(b!.recv(2, 0, 0), 3000, 'b from impostor');
  fake[0]!.send(encodeFrame(header(0, 0), { route: 2, messageBytes: 10, offset: 0 }, new Uint8Array(10)).subarray(0, HEADER_BYTES + 4));
  fake[1]!.send(encodeFrame(header(0, 0), { route: 0, messageBytes: 1, offset: 0 }, new Uint8Array(1)));
  assert.match((await fromA).message, /a binary message that ends after 4 of its frame's 10 payload bytes/);
  assert.match((await fromB).message, /frame claims to come from rank 0/);
  await stillTalking(a!, b!, 3);
  fake.forEach((s) => s.terminate());
  await Promise.all([a!.close(), b!.close()]);
});

test('a header sent alone must be followed by exactly its payload', async () => {
  const { real: [a, b], fake } = await worldWithImpostor('split-liars');
  const fromA = rejection(a!.recv(2, 0, 0), 3000, 'a from impostor');
  const fromB = rejection(b!.recv(2, 0, 0), 3000, 'b from impostor');
  const head = encodeFrameHeader(header(0, 0), { route: 2, messageBytes: 40_000, offset: 0 }, 40_000);
  fake[0]!.send(head);
  fake[0]!.send(new Uint8Array(39_999));
  fake[1]!.send(head);
  fake[1]!.send('a text message');
  assert.match((await fromA).message, /closing the connection to peer 2: a binary message that ends after 39999 of its frame's 40000 payload bytes/);
  assert.match((await fromB).message, /closing the connection to peer 2: a text message where a frame's payload was due/);
  await stillTalking(a!, b!, 4);
  fake.forEach((s) => s.terminate());
  await Promise.all([a!.close(), b!.close()]);
});

test('an admitted peer is answered in kind: its ping gets a pong with its payload, its close frame ends it as a close with its code and reason', async () => {
  const { real: [a, b], fake } = await worldWithImpostor('polite');
  const pong = within(new Promise<Buffer>((resolve) => fake[0]!.once('pong', resolve)), 2000, 'pong');
  fake[0]!.ping(Buffer.from('are you there'));
  assert.is((await pong).toString(), 'are you there');
  const failure = within(new Promise<TransportFailure>((resolve) => a!.onFailure(resolve)), 3000, 'failure');
  const echoed = closeOf(fake[0]!);
  fake[0]!.close(1000, 'done here');
  const { peer, error } = await failure;
  assert.is(peer, 2);
  assert.match(error.message, /rank 0: peer 2 closed its connection \(1000: done here\)/);
  assert.is((await within(echoed, 2000, 'close answered'))[0], 1000, 'the close frame is answered with its code');
  await stillTalking(a!, b!, 5);
  fake.forEach((s) => s.terminate());
  await Promise.all([a!.close(), b!.close()]);
});

test('backpressure: a slow reader holds the sender back and its queue stays bounded', () =>
  checkBoundedBackpressure((rank) => connectWebSocketMesh({ id: server.id, rank, size: 2, world: 'slow', limits: SLOW_READER_LIMITS, timeoutMs: 5000 })));

test.after(() => server.close());
test.run();
