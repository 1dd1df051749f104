import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { StoreClient } from '../lib/rendezvous/store-client.js';
import { nodeWebSocket } from '../lib/transport/handshake/node-web-socket.js';
import { formatUniqueId, generateSecret, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { openSession } from '../lib/transport/handshake/open-session.js';
import { WebSocket } from 'ws';
import { rejection, within } from './within.js';

const WS = nodeWebSocket();
let server: RendezvousServer;
const clients: StoreClient[] = [];

async function client(id = server.id, timeoutMs = 2000): Promise<StoreClient> {
  const c = await within(StoreClient.connect({ id, WebSocket: WS, timeoutMs }), 3000, 'store connect');
  clients.push(c);
  return c;
}

test.before(async () => {
  server = await RendezvousServer.start();
});

test.after(async () => {
  clients.forEach((c) => c.close());
  await server.close();
});

test('unique id: format and parse round trip, IPv6 in brackets', () => {
  const secret = generateSecret();
  assert.match(secret, /^[0-9a-f]{32}$/);
  assert.is.not(secret, generateSecret());
  const id = formatUniqueId({ host: '10.1.2.3', port: 29500, secret });
  assert.is(id, `webccl://10.1.2.3:29500/${secret}`);
  assert.equal(parseUniqueId(id), { host: '10.1.2.3', port: 29500, secret, transport: 'websocket' });
  const v6 = formatUniqueId({ host: '::1', port: 80, secret });
  assert.is(v6, `webccl://[::1]:80/${secret}`);
  assert.equal(parseUniqueId(v6), { host: '::1', port: 80, secret, transport: 'websocket' });
  const tcp = formatUniqueId({ host: '10.1.2.3', port: 29500, secret, transport: 'tcp' });
  assert.is(tcp, `webccl+tcp://10.1.2.3:29500/${secret}`);
  assert.equal(parseUniqueId(tcp), { host: '10.1.2.3', port: 29500, secret, transport: 'tcp' });
});

test('unique id: malformed ids are refused with the part that is wrong', () => {
  const secret = generateSecret();
  assert.throws(() => parseUniqueId(`http://h:1/${secret}`), /InvalidArgument: malformed unique id: does not start with 'webccl:\/\/'/);
  assert.throws(() => parseUniqueId('webccl://h:1'), /no '\/' before the secret/);
  assert.throws(() => parseUniqueId(`webccl://h/${secret}`), /'h' is not host:port/);
  assert.throws(() => parseUniqueId(`webccl://h:70000/${secret}`), /port 70000 is not in 1..65535/);
  assert.throws(() => parseUniqueId('webccl://h:1/xyz'), /secret is not 32 lowercase hex digits/);
  assert.throws(() => parseUniqueId(`webccl://h:1/${secret.toUpperCase()}`), /secret/);
  assert.throws(() => formatUniqueId({ host: 'h', port: 0, secret }), /port 0/);
});

test('store: set then get, bytes and strings', async () => {
  const a = await client();
  const b = await client();
  await within(a.set('k', 'hello'), 2000, 'set');
  assert.is(await within(b.getString('k'), 2000, 'get'), 'hello');
  await within(a.set('bin', new Uint8Array([0, 255, 7])), 2000, 'set bin');
  assert.equal([...await within(b.get('bin'), 2000, 'get bin')], [0, 255, 7]);
});

test('store: get waits for a later set; wait waits for every key', async () => {
  const a = await client();
  const b = await client();
  const got = b.getString('late');
  const waited = b.wait(['w1', 'w2']);
  let waitedDone = false;
  void waited.then(() => { waitedDone = true; });
  await within(a.set('w1', 'x'), 2000, 'set w1');
  await within(a.set('late', 'value'), 2000, 'set late');
  assert.is(await within(got, 2000, 'get late'), 'value');
  assert.not.ok(waitedDone, 'wait resolved before its second key existed');
  await within(a.set('w2', 'y'), 2000, 'set w2');
  await within(waited, 2000, 'wait');
});

test('store: add counts atomically from many clients', async () => {
  const all = await Promise.all([client(), client(), client()]);
  const results = await within(Promise.all(all.flatMap((c) => [c.add('ctr', 1), c.add('ctr', 2)])), 3000, 'adds');
  assert.is(Math.max(...results), 9);
  assert.is(new Set(results).size, 6);
  assert.is(await within(all[0]!.getString('ctr'), 2000, 'get ctr'), '9');
  await within(all[0]!.set('text', 'abc'), 2000, 'set text');
  const error = await rejection(all[0]!.add('text', 1), 2000, 'add on text');
  assert.match(error.message, /InvalidUsage: .*add\('text'\): the value is not an integer counter/);
});

test('store: get times out with a Timeout error naming the key', async () => {
  const a = await client();
  const error = await rejection(a.get('never', 100), 2000, 'get never');
  assert.match(error.message, /^Timeout: .*get\('never'\) timed out after 100 ms/);
});

test('store: a wrong secret is refused', async () => {
  const { host, port } = parseUniqueId(server.id);
  const wrong = formatUniqueId({ host, port, secret: generateSecret() });
  const error = await rejection(StoreClient.connect({ id: wrong, WebSocket: WS, timeoutMs: 2000 }), 3000, 'connect with wrong secret');
  assert.match(error.message, /^SystemError: .*refused the connection \(4401: wrong secret\)/);
});

test('store: a malformed id is refused before connecting', async () => {
  const error = await rejection(StoreClient.connect({ id: 'webccl://nowhere', WebSocket: WS, timeoutMs: 500 }), 1000, 'connect');
  assert.match(error.message, /^InvalidArgument: malformed unique id/);
});

test('store: a bad hello or a garbage request closes only that connection', async () => {
  const survivor = await client();
  const { port } = parseUniqueId(server.id);
  const raw = new WebSocket(`ws://127.0.0.1:${port}/`);
  const closed = new Promise<number>((resolve) => raw.on('close', (code) => resolve(code)));
  raw.on('open', () => raw.send('not json'));
  assert.is(await within(closed, 2000, 'bad hello close'), 4400);

  const bad = await within(openSession({
    WebSocket: WS, url: `ws://127.0.0.1:${port}/`, timeoutMs: 2000, who: 'test',
    hello: { t: 'hello', secret: parseUniqueId(server.id).secret, role: 'store' },
    onMessage: () => {}, onClose: () => {},
  }), 2000, 'open');
  const badClosed = new Promise<number | undefined>((resolve) => bad.addEventListener('close', (e) => resolve(e.code)));
  bad.send(JSON.stringify({ t: 'explode', id: 1 }));
  assert.is(await within(badClosed, 2000, 'garbage close'), 4402);

  await within(survivor.set('still', 'up'), 2000, 'survivor set');
  assert.is(await within(survivor.getString('still'), 2000, 'survivor get'), 'up');
});

test('store: closing the server rejects pending gets', async () => {
  const other = await RendezvousServer.start();
  const c = await within(StoreClient.connect({ id: other.id, WebSocket: WS, timeoutMs: 5000 }), 3000, 'connect');
  const pending = c.get('never');
  await other.close();
  const error = await rejection(pending, 2000, 'pending get');
  assert.match(error.message, /^SystemError: .*connection closed/);
});

test.run();
