// The tcp mesh under abuse: strangers, garbage, oversized and lying frames, a reader that does
// not read. Impostors are raw sockets (helpers/raw-tcp-peer.ts) speaking the record format.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { StoreClient } from '../lib/rendezvous/store-client.js';
import { nodeWebSocket } from '../lib/transport/handshake/node-web-socket.js';
import { formatUniqueId, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { meshAddressKey } from '../lib/rendezvous/form-mesh.js';
import { connectTcpMesh } from '../lib/rendezvous/worlds/tcp-world.js';
import { encodeTextRecord, MAX_TEXT_BYTES, TEXT_MAGIC } from '../lib/transport/tcp/text-record.js';
import { encodeFrame, encodeFrameHeader } from '../lib/transport/frame.js';
import type { Transport, TransportFailure } from '../lib/transport/transport.js';
import { RawTcpPeer } from './helpers/raw-tcp-peer.js';
import { header } from './transport-conformance.js';
import { rejection, within } from './within.js';
import { checkBoundedBackpressure, SLOW_READER_LIMITS, stillTalking, strangerHellos } from './helpers/mesh-faults.js';

const server = await RendezvousServer.start();
const id = formatUniqueId({ ...parseUniqueId(server.id), transport: 'tcp' });
const { secret } = parseUniqueId(id);
const limits = { maxSegmentBytes: 64 << 10 };

async function dial(world: string, size: number, to: number, hello: Record<string, unknown>): Promise<RawTcpPeer> {
  const store = await StoreClient.connect({ id, WebSocket: nodeWebSocket(), timeoutMs: 3000 });
  const address = await within(store.getString(meshAddressKey('tcp', world, size, to)), 3000, 'address');
  store.close();
  return RawTcpPeer.dial(address, { world, size, to, ...hello });
}

/** Ranks 0 and 1 real, rank 2 a raw socket the test drives. */
async function worldWithImpostor(world: string): Promise<{ real: Transport[]; fake: RawTcpPeer[] }> {
  const joining = Promise.all([0, 1].map((rank) => connectTcpMesh({ id, rank, size: 3, world, limits, timeoutMs: 5000 })));
  const fake = await Promise.all([0, 1].map(async (to) => {
    const peer = await dial(world, 3, to, { secret, rank: 2 });
    assert.equal(await peer.nextText(), { t: 'welcome' });
    return peer;
  }));
  return { real: await within(joining, 5000, 'mesh'), fake };
}

async function closeAll(real: Transport[], fake: RawTcpPeer[]): Promise<void> {
  fake.forEach((peer) => peer.socket.destroy());
  await Promise.all(real.map((t) => t.close()));
}

test('strangers are refused with a code and a reason; the mesh still forms', async () => {
  const world = 'strangers';
  const rank0 = connectTcpMesh({ id, rank: 0, size: 3, world, timeoutMs: 5000 });
  const impostor = await dial(world, 3, 0, { secret, rank: 2 });
  assert.equal(await impostor.nextText(), { t: 'welcome' });
  for (const [hello, code, reason] of strangerHellos(secret)) {
    const stranger = await dial(world, 3, 0, hello);
    const answer = await stranger.nextText();
    assert.is(answer['t'], 'refused');
    assert.is(answer['code'], code);
    assert.match(String(answer['reason']), reason);
    await within(stranger.closed, 3000, `refused connection ${code} closed`);
  }
  const rank1 = connectTcpMesh({ id, rank: 1, size: 3, world, timeoutMs: 5000 });
  const impostorTo1 = await dial(world, 3, 1, { secret, rank: 2 });
  assert.equal(await impostorTo1.nextText(), { t: 'welcome' });
  const [a, b] = await within(Promise.all([rank0, rank1]), 5000, 'mesh forms');
  await stillTalking(a, b, 0);
  await closeAll([a, b], [impostor, impostorTo1]);
});

test('a first record that is not a text hello, or too long a text record, is refused', async () => {
  const world = 'not-hellos';
  const rank0 = connectTcpMesh({ id, rank: 0, size: 2, world, timeoutMs: 5000 });
  const store = await StoreClient.connect({ id, WebSocket: nodeWebSocket(), timeoutMs: 3000 });
  const address = await store.getString(meshAddressKey('tcp', world, 2, 0));
  store.close();
  const tooLong = new Uint8Array(8);
  new DataView(tooLong.buffer).setUint32(0, TEXT_MAGIC, true);
  new DataView(tooLong.buffer).setUint32(4, MAX_TEXT_BYTES + 1, true);
  const firstRecords = [encodeFrame(header(0, 0), { route: 1, messageBytes: 4, offset: 0 }, new Uint8Array(4)), tooLong];
  for (const first of firstRecords) {
    const stranger = await RawTcpPeer.connect(address);
    stranger.send(first);
    assert.equal(await stranger.nextText(), { t: 'refused', code: 4400, reason: 'first message is not a text hello' });
    await within(stranger.closed, 3000, 'refused connection closed');
  }
  const rank1 = connectTcpMesh({ id, rank: 1, size: 2, world, timeoutMs: 5000 });
  const [a, b] = await within(Promise.all([rank0, rank1]), 5000, 'mesh forms');
  await stillTalking(a, b, 0);
  await Promise.all([a.close(), b.close()]);
});

test('a garbage frame closes that connection with a clear error and a goodbye; the others keep working', async () => {
  const { real: [a, b], fake } = await worldWithImpostor('garbage');
  const failures: TransportFailure[] = [];
  a!.onFailure((failure) => failures.push(failure));
  const pending = rejection(a!.recv(2, 0, 0), 3000, 'recv from the impostor');
  fake[0]!.send(new Uint8Array(200).fill(0x5a));
  const error = await pending;
  assert.match(error.message, /^SystemError: rank 0: closing the connection to peer 2: bad frame: wrong magic 0x5a5a5a5a/);
  const goodbye = await fake[0]!.nextText();
  assert.is(goodbye['t'], 'bye');
  assert.is(goodbye['code'], 4402);
  await within(fake[0]!.closed, 3000, 'impostor connection closed');
  assert.is(failures.length, 1);
  assert.is(failures[0]!.peer, 2);
  await stillTalking(a!, b!, 1);
  await stillTalking(b!, a!, 2);
  await closeAll([a!, b!], fake);
});

test('an oversized frame or text record closes that connection with a clear error', async () => {
  const { real: [a, b], fake } = await worldWithImpostor('oversized');
  const fromA = rejection(a!.recv(2, 0, 0), 3000, 'a from the impostor');
  const fromB = rejection(b!.recv(2, 0, 0), 3000, 'b from the impostor');
  const big = limits.maxSegmentBytes + 1;
  fake[0]!.send(encodeFrameHeader(header(0, 0), { route: 2, messageBytes: big, offset: 0 }, big));
  const tooLong = new Uint8Array(8);
  new DataView(tooLong.buffer).setUint32(0, TEXT_MAGIC, true);
  new DataView(tooLong.buffer).setUint32(4, MAX_TEXT_BYTES + 1, true);
  fake[1]!.send(tooLong);
  assert.match((await fromA).message, /^SystemError: rank 0: closing the connection to peer 2: bad frame: segment of 65537 bytes exceeds the 65536-byte limit/);
  assert.match((await fromB).message, /^SystemError: rank 1: closing the connection to peer 2: a 4097-byte text record exceeds 4096 bytes/);
  await stillTalking(a!, b!, 1);
  await closeAll([a!, b!], fake);
});

test('frames that lie about their sender or their place in the message, and stray text, are garbage too', async () => {
  const { real: [a, b], fake } = await worldWithImpostor('liars');
  const fromA = rejection(a!.recv(2, 0, 0), 3000, 'a from impostor');
  const fromB = rejection(b!.recv(2, 0, 0), 3000, 'b from impostor');
  fake[0]!.send(encodeFrame(header(0, 0), { route: 2, messageBytes: 10, offset: 4 }, new Uint8Array(6)));
  fake[1]!.send(encodeFrame(header(0, 0), { route: 0, messageBytes: 1, offset: 0 }, new Uint8Array(1)));
  assert.match((await fromA).message, /message starts at offset 4, not 0/);
  assert.match((await fromB).message, /frame claims to come from rank 0/);
  await stillTalking(a!, b!, 3);
  await closeAll([a!, b!], fake);

  const second = await worldWithImpostor('chatty');
  const pending = rejection(second.real[0]!.recv(2, 0, 0), 3000, 'from the chatty impostor');
  second.fake[0]!.send(encodeTextRecord(JSON.stringify({ t: 'hello', secret })));
  assert.match((await pending).message, /a text record after the handshake that is not a goodbye/);
  await closeAll(second.real, second.fake);
});

test('backpressure: a slow reader holds the sender back and its queue stays bounded', () =>
  checkBoundedBackpressure((rank) => connectTcpMesh({ id, rank, size: 2, world: 'slow', limits: SLOW_READER_LIMITS, timeoutMs: 5000 })));

test.after(() => server.close());
test.run();
