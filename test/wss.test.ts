// wss:// for the rendezvous (store and relay): a rendezvous server with a self-signed
// certificate, ids that say so (`+tls`), Node ranks that trust it through WEBCCL_TLS_CA and
// refuse it without, `webccl serve --tls-cert --tls-key`, and a stranger who never finishes the
// TLS handshake dropped within seconds. (A browser tab on wss://: browser-wss.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { Communicator, RendezvousServer } from '../lib/index.node.js';
import { formatUniqueId, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { selfSigned } from './helpers/self-signed.js';
import { within } from './within.js';

const tls = selfSigned();
const server = await RendezvousServer.start({ tls: { cert: tls.cert, key: tls.key } });
test.after(async () => { await server.close(); tls.remove(); });

let world = 0;
async function allReduceOn(id: string): Promise<number[][]> {
  const comms = await Promise.all([0, 1].map((rank) => Communicator.init({ id, rank, size: 2, timeoutMs: 5000 })));
  const data = [Int32Array.of(1, 2), Int32Array.of(30, 40)];
  await Promise.all(comms.map((c, r) => c.allReduce(data[r]!, data[r]!, 2, 'int32', 'sum')));
  await Promise.all(comms.map((c) => c.destroy()));
  world++;
  return data.map((d) => [...d]);
}

test('ids of a TLS rendezvous carry +tls and parse back', () => {
  assert.match(server.id, /^webccl\+tls:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}$/);
  const parsed = parseUniqueId(server.id);
  assert.is(parsed.tls, true);
  assert.is(formatUniqueId(parsed), server.id);
  assert.match(formatUniqueId({ ...parsed, transport: 'relay' }), /^webccl\+relay\+tls:\/\//);
  assert.is(parseUniqueId(formatUniqueId({ ...parsed, tls: false })).tls, undefined);
});

test('without WEBCCL_TLS_CA a self-signed rendezvous is refused', async () => {
  delete process.env['WEBCCL_TLS_CA'];
  const id = formatUniqueId({ ...parseUniqueId(server.id), transport: 'relay' });
  const error = await within(Communicator.init({ id, rank: 0, size: 1, timeoutMs: 3000 }).then(() => undefined, (e: Error) => e), 10_000, 'refusal');
  assert.ok(error, 'joined a rendezvous whose certificate nobody trusts');
  assert.match(`${error!.message} ${String((error as { cause?: unknown }).cause)}`, /self[- ]signed|certificate/i);
});

test('with WEBCCL_TLS_CA: Node ranks join over wss://, relay world and websocket mesh alike', async () => {
  process.env['WEBCCL_TLS_CA'] = tls.certPath;
  try {
    for (const transport of ['relay', 'websocket']) {
      const id = formatUniqueId({ ...parseUniqueId(server.id), transport });
      assert.equal(await within(allReduceOn(id), 15_000, transport), [[31, 42], [31, 42]]);
    }
  } finally {
    delete process.env['WEBCCL_TLS_CA'];
  }
});

test('a stranger who never finishes the TLS handshake is dropped within seconds', async () => {
  const { port } = parseUniqueId(server.id);
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await within(closed, 8000, 'the server to drop a silent TLS client');
});

test('webccl serve --tls-cert --tls-key prints a webccl+relay+tls:// id', async () => {
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'bin/webccl.ts', 'serve', '--host', '127.0.0.1', '--tls-cert', tls.certPath, '--tls-key', tls.keyPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const first = await within(new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().split('\n')[0]!))), 15_000, 'id');
    assert.match(first, /^webccl\+relay\+tls:\/\/127\.0\.0\.1:\d+\//);
  } finally {
    child.kill('SIGKILL');
  }
});

test.run();
