import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { nodeWebSocket } from '../lib/transport/handshake/node-web-socket.js';
import { formatUniqueId, generateSecret, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { connectRelay } from '../lib/rendezvous/relay-client.js';
import { dialRelayStream } from '../lib/rendezvous/relay-stream-client.js';
import { Communicator, getUniqueId } from '../lib/index.node.js';
import type { Transport } from '../lib/transport/transport.js';
import { decodeFrame, encodeFrame, HEADER_BYTES } from '../lib/transport/frame.js';
import { RawWebSocket, wsFrame } from './helpers/raw-web-socket.js';
import { createServer, Socket, type AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { acceptRelayStream, type RelayStreamContext } from '../lib/rendezvous/relay-stream.js';
import { FramedTransport } from '../lib/transport/framed/framed-transport.js';
import { DEFAULT_LIMITS, maxFrameBytes } from '../lib/transport/framed/limits.js';
import { WELCOME } from '../lib/transport/handshake/handshake.js';
import { OPCODE, upgradeKeyOf, upgradeResponse, wholeFrame } from '../lib/transport/websocket/rfc6455.js';
import { RELAY_PATH } from '../lib/rendezvous/relay-notice.js';
import { header, pattern, registerTransportConformance } from './transport-conformance.js';
import { rejection, within } from './within.js';

const WS = nodeWebSocket();
const server = await RendezvousServer.start();
let worlds = 0;

/** How a Node rank's relay client connects: through the WebSocket API (as a browser does), or on the raw socket (Node's own). */
const CLIENTS = { websocket: {}, stream: { dial: dialRelayStream } } as const;
type ClientKind = keyof typeof CLIENTS;

function relayWorld(size: number, client: ClientKind, world = `r${worlds++}`): Promise<Transport[]> {
  return Promise.all(Array.from({ length: size }, (_, rank) => connectRelay({ id: server.id, rank, size, world, WebSocket: WS, timeoutMs: 5000, ...CLIENTS[client] })));
}

registerTransportConformance('relay (WebSocket clients)', (size) => relayWorld(size, 'websocket'));
registerTransportConformance('relay (stream clients)', (size) => relayWorld(size, 'stream'));

/**
 * A raw member of a relay world that says hello properly and then does what a test wants, on
 * `path`: the relay's own reader (RELAY_PATH, where relay clients dial) or ws's (any other).
 */
async function rawMember(world: string, rank: number, size: number, path: string): Promise<WebSocket> {
  const { port, secret } = parseUniqueId(server.id);
  const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
  await within(new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); }), 2000, 'raw open');
  socket.send(JSON.stringify({ t: 'hello', secret, role: 'relay', world, rank, size }));
  await within(new Promise((resolve) => socket.once('message', resolve)), 2000, 'raw welcome');
  return socket;
}

test('webccl+relay:// ids: Node ranks join through the relay with Communicator.init alone; getUniqueId makes them too', async () => {
  const relayId = formatUniqueId({ ...parseUniqueId(server.id), transport: 'relay' });
  for (const id of [relayId, await getUniqueId({ transport: 'relay' })]) {
    assert.match(id, /^webccl\+relay:\/\//);
    const comms = await within(Promise.all([0, 1].map((rank) => Communicator.init({ id, rank, size: 2, timeoutMs: 5000 }))), 10_000, 'init');
    assert.equal(comms.map((c) => c.transport.description), ['websocket(relay)', 'websocket(relay)']);
    const data = [Int32Array.of(1, 2), Int32Array.of(30, 40)];
    await within(Promise.all(comms.map((c, r) => c.allReduce(data[r]!, data[r]!, 2, 'int32', 'sum'))), 10_000, 'allReduce');
    assert.equal(data.map((d) => [...d]), [[31, 42], [31, 42]]);
    await Promise.all(comms.map((c) => c.destroy()));
  }
});

test('relay: a WebSocket client and a stream client exchange through the server, both ways; description says relay', async () => {
  const world = 'two-kinds';
  const [a, b] = await within(Promise.all((['websocket', 'stream'] as const).map((client, rank) => connectRelay({ id: server.id, rank, size: 2, world, WebSocket: WS, timeoutMs: 5000, ...CLIENTS[client] }))), 5000, 'world');
  assert.is(a!.description, 'websocket(relay)');
  await within(a!.send(1, header(0, 0), pattern(1000, 1)), 2000, 'send');
  assert.equal([...(await within(b!.recv(0, 0, 0), 2000, 'recv')).payload], [...pattern(1000, 1)]);
  await within(b!.send(0, header(0, 1), pattern(5 << 20, 2)), 4000, 'send back');
  assert.equal((await within(a!.recv(1, 0, 1), 4000, 'recv back')).payload, pattern(5 << 20, 2));
  await Promise.all([a!.close(), b!.close()]);
});

test('relay: a wrong secret is refused', async () => {
  const { host, port } = parseUniqueId(server.id);
  const id = formatUniqueId({ host, port, secret: generateSecret() });
  const error = await rejection(connectRelay({ id, rank: 0, size: 1, WebSocket: WS, timeoutMs: 2000 }), 3000, 'connect');
  // The store refuses it first: a relay client counts its join there before it takes its seat (formation.ts).
  assert.match(error.message, /rank 0 of store [\d.]+:\d+: ws:\/\/[\d.]+:\d+\/ refused the connection \(4401: wrong secret\)/);
});

test('relay: an incomplete world times out naming the deadline', async () => {
  const error = await rejection(connectRelay({ id: server.id, rank: 0, size: 2, world: 'lonely', WebSocket: WS, timeoutMs: 300 }), 3000, 'connect');
  assert.match(error.message, /^Timeout: rank 0: not every rank of 2 joined the relay within 300 ms/);
});

for (const [path, client] of [['/', 'websocket'], [RELAY_PATH, 'websocket'], [RELAY_PATH, 'stream']] as const) {
  test(`relay (garbage on ${path}, ${client} clients): garbage is never forwarded; the sender is cut off, the others told, the rest keep working`, async () => {
    const world = `garbage${path}-${client}`;
    const joining = Promise.all([0, 1].map((rank) => connectRelay({ id: server.id, rank, size: 3, world, WebSocket: WS, timeoutMs: 5000, ...CLIENTS[client] })));
    const raw = await rawMember(world, 2, 3, path);
    const [a, b] = await within(joining, 5000, 'join');
    const received: unknown[] = [];
    raw.on('message', (data) => received.push(data));
    const closed = new Promise<[number, string]>((resolve) => raw.on('close', (code, reason) => resolve([code, reason.toString()])));
    const pending = rejection(a!.recv(2, 0, 0), 4000, 'recv from the cut-off rank');
    const garbage = new Uint8Array(100).fill(0xab);
    raw.send(garbage);
    const [code, reason] = await within(closed, 2000, 'raw close');
    assert.is(code, 4402);
    assert.match(reason, /garbage from rank 2: bad frame: wrong magic/);
    const error = await pending;
    assert.match(error.message, /rank 0: .*peer 2/);
    await within(a!.send(1, header(0, 1), pattern(10, 2)), 2000, 'a->b');
    assert.equal([...(await within(b!.recv(0, 0, 1), 2000, 'b'))!.payload], [...pattern(10, 2)]);
    await Promise.all([a!.close(), b!.close()]);
  });

  test(`relay (garbage on ${path}, ${client} clients): a frame addressed outside the world is garbage too`, async () => {
    const world = `outside${path}-${client}`;
    const joining = connectRelay({ id: server.id, rank: 0, size: 2, world, WebSocket: WS, timeoutMs: 5000, ...CLIENTS[client] });
    const raw = await rawMember(world, 1, 2, path);
    const a = await within(joining, 5000, 'join');
    const closed = new Promise<string>((resolve) => raw.on('close', (_, reason) => resolve(reason.toString())));
    raw.send(encodeFrame(header(0, 0), { route: 9, messageBytes: 1, offset: 0 }, new Uint8Array(1)));
    assert.match(await within(closed, 2000, 'close'), /destination rank 9 is not in a world of 2/);
    await a.close();
  });
}

test('relay: members on both paths share a world; frames of MiBs cross between them both ways', async () => {
  const world = 'mixed';
  const joining = Promise.all([0, 1].map((rank) => connectRelay({ id: server.id, rank, size: 3, world, WebSocket: WS, timeoutMs: 5000 })));
  const raw = await rawMember(world, 2, 3, '/');
  const [a, b] = await within(joining, 5000, 'join');
  const fromA = new Promise<Buffer>((resolve) => raw.on('message', (data, isBinary) => isBinary && resolve(data as Buffer)));
  // RELAY_PATH to ws: the pooled payload, written on in one buffer.
  const big = pattern(3 << 18, 5);
  await within(a!.send(2, header(0, 7), big), 4000, 'a->raw');
  const frame = decodeFrame(new Uint8Array(await within(fromA, 4000, 'raw receives')), DEFAULT_LIMITS);
  assert.is(frame.route, 0);
  assert.equal(frame.payload, big);
  // ws to RELAY_PATH: a whole message forwarded to a stream member.
  const back = pattern(1 << 20, 9);
  raw.send(encodeFrame(header(0, 8), { route: 1, messageBytes: back.byteLength, offset: 0 }, back));
  assert.equal((await within(b!.recv(2, 0, 8), 4000, 'b receives from raw')).payload, back);
  raw.close();
  await Promise.all([a!.close(), b!.close()]);
});

test('relay: a destination that stops reading holds its sender back (the sender\'s sends stall), and everything arrives once it reads again', async () => {
  const { host, port, secret } = parseUniqueId(server.id);
  const world = 'held-back';
  const joining = connectRelay({ id: server.id, rank: 0, size: 2, world, WebSocket: WS, timeoutMs: 5000 });
  const slow = await RawWebSocket.welcomed(host, port, { secret, role: 'relay', world, rank: 1, size: 2 }, RELAY_PATH);
  const sender = await within(joining, 5000, 'join');
  slow.socket.pause();
  const frames = 48;
  const payload = pattern(1 << 20, 3);
  let sent = 0;
  const sends = Array.from({ length: frames }, (_, i) => sender.send(1, header(0, i), payload).then(() => { sent++; }));
  // Socket buffers on the way hold a few MiB each; the relay itself holds at most its high-water mark.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.ok(sent < frames, `all ${frames} MiB went out while the destination read nothing`);
  slow.socket.resume();
  await within(Promise.all(sends), 10_000, 'the sends, once the destination reads');
  await within(new Promise<void>((resolve) => {
    const look = () => (slow.binaryBytes >= frames * (HEADER_BYTES + payload.byteLength) ? resolve() : setTimeout(look, 20));
    look();
  }), 10_000, 'every frame at the destination');
  assert.is(slow.binaryBytes, frames * (HEADER_BYTES + payload.byteLength));
  slow.destroy();
  await sender.close();
});

/**
 * A relay that answers a stream client's upgrade and hello, says the world is ready, and then
 * sends `bytes` (as a server would, unmasked): what a client must survive from a broken relay.
 */
async function fakeRelay(bytes: Uint8Array): Promise<{ port: number; close: () => void }> {
  const fake = createServer((socket) => {
    socket.on('error', () => {});
    let received = Buffer.alloc(0);
    let upgraded = false;
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (!upgraded && end >= 0) {
        const asked = upgradeKeyOf(received.subarray(0, end).toString('latin1'));
        if ('problem' in asked) return socket.destroy();
        upgraded = true;
        socket.write(upgradeResponse(asked.key));
        received = received.subarray(end + 4);
      }
      // Any bytes after the upgrade are the hello: welcome, ready, then the test's bytes.
      if (upgraded && received.length > 0) {
        received = Buffer.alloc(0);
        socket.write(Buffer.concat([wholeFrame(OPCODE.text, Buffer.from(WELCOME), false), wholeFrame(OPCODE.text, Buffer.from('{"t":"ready"}'), false), bytes]));
      }
    });
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  return { port: (fake.address() as AddressInfo).port, close: () => fake.close() };
}

for (const [what, bytes, expected] of [
  ['a frame from a rank outside the world', wholeFrame(OPCODE.binary, encodeFrame(header(0, 0), { route: 7, messageBytes: 4, offset: 0 }, new Uint8Array(4)), false), /a frame from rank 7, not a peer of rank 0 of 2/],
  ['a frame from the client itself', wholeFrame(OPCODE.binary, encodeFrame(header(0, 0), { route: 0, messageBytes: 4, offset: 0 }, new Uint8Array(4)), false), /a frame from rank 0, not a peer of rank 0 of 2/],
  ['a masked frame', wsFrame({ opcode: OPCODE.binary, payload: Buffer.alloc(60) }), /masked frame from the server/],
] as const) {
  test(`relay (stream client): ${what} from the relay fails the transport, naming it; nothing crashes`, async () => {
    const relay = await fakeRelay(bytes);
    const transport = new FramedTransport({ rank: 0, size: 2, limits: DEFAULT_LIMITS, description: 'websocket(relay)', routeTo: (peer) => peer });
    try {
      const channel = await within(dialRelayStream({
        address: `127.0.0.1:${relay.port}`, hello: { t: 'hello', secret: generateSecret(), role: 'relay', world: 'fake', rank: 0, size: 2 },
        timeoutMs: 3000, who: 'rank 0 relay client', maxFramePayload: maxFrameBytes(DEFAULT_LIMITS), transport,
        notice: () => {},
      }), 4000, 'dial');
      transport.attach(1, channel);
      const error = await rejection(transport.recv(1, 0, 0), 4000, 'recv');
      assert.match(error.message, expected);
    } finally {
      await transport.close();
      relay.close();
    }
  });
}

test('relay: a socket without a handle to take over is left to ws (acceptRelayStream touches nothing and says so)', () => {
  const untouched = new Socket();
  const context = { hub: undefined, gate: undefined, log: undefined, maxFramePayload: 0, track: () => { throw new Error('tracked'); } };
  assert.is(acceptRelayStream({} as IncomingMessage, untouched, Buffer.alloc(0), context as unknown as RelayStreamContext), false);
  assert.is(untouched.destroyed, false);
});

test.after(() => server.close());
test.run();
