// A world formed again at the same rendezvous after its ranks destroyed their communicators
// (torch's destroy_process_group then init_process_group on one MASTER_PORT): the ranks that
// come back before rank 0 has left must not read the last formation's addresses from the store
// (formation.ts), nor sit down in its relay world. Rank 0 lingers before each destroy, so they
// always come back first. Under MASTER_ADDR rank 0 hosts the store (and keeps it for the next
// formation); under WEBCCL_ID the test hosts it, as webccl-run's launcher does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { findFreePort } from '../bin/launch/launch.js';
import { getUniqueId } from '../lib/index.node.js';
import { formationWorld } from '../lib/rendezvous/formation.js';
import { StoreClient } from '../lib/rendezvous/store-client.js';
import { nodeWebSocket } from '../lib/transport/handshake/node-web-socket.js';
import { requireAddon } from './helpers/native-transports.js';
import { within } from './within.js';

const SIZE = 3;
const FORMATIONS = 3;

function startRank(rank: number, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const { WEBCCL_ID: _id, MASTER_ADDR: _addr, MASTER_PORT: _port, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'test/workers/reinit-rank.ts'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...inherited, RANK: String(rank), WORLD_SIZE: String(SIZE), LOCAL_RANK: String(rank), FORMATIONS: String(FORMATIONS), ...env },
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => { out += chunk; });
  child.stderr!.on('data', (chunk: Buffer) => { out += chunk; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return new Promise((resolve) => child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }); }));
}

/** `description`: how the transport names itself (websocket adds '(bufferutil)' where that is installed). */
async function formAgainAndAgain(env: Record<string, string>, description: string): Promise<void> {
  const results = await within(Promise.all(Array.from({ length: SIZE }, (_, rank) => startRank(rank, env))), 120_000, 'ranks exit');
  for (const [rank, { code, out }] of results.entries()) {
    assert.is(code, 0, `rank ${rank}: ${out}`);
    const reports = out.split('\n').filter((line) => line.startsWith('{"event":"reduced"')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const named = (r: Record<string, unknown>) => String(r['description']).startsWith(description);
    assert.equal(reports.map((r) => [r['formation'], named(r), r['wrong']]), Array.from({ length: FORMATIONS }, (_, f) => [f, true, -1]), out);
  }
}

for (const transport of ['websocket', 'tcp'] as const) {
  test(`MASTER_ADDR: rank 0's store, ${FORMATIONS} formations of ${SIZE} ${transport} ranks`, async () => {
    const port = String(await findFreePort('127.0.0.1'));
    await formAgainAndAgain({ MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, WEBCCL_TRANSPORT: transport }, transport);
  });
}

for (const transport of ['tcp', 'shm', 'ntcp', 'relay'] as const) {
  test(`WEBCCL_ID: one store for the job (webccl-run's), ${FORMATIONS} formations of ${SIZE} ${transport} ranks`, async () => {
    if (transport === 'shm' || transport === 'ntcp') requireAddon(transport);
    const id = await getUniqueId({ transport });
    await formAgainAndAgain({ WEBCCL_ID: id }, transport === 'relay' ? 'websocket(relay)' : transport);
  });
}

test('formationWorld: every rank joining once per formation names the n-th formation world#n', async () => {
  const id = await getUniqueId({ transport: 'tcp' });
  const clients = await Promise.all(Array.from({ length: SIZE }, () => StoreClient.connect({ id, WebSocket: nodeWebSocket(), timeoutMs: 5000 })));
  try {
    for (const expected of ['world', 'world#1', 'world#2']) {
      assert.equal(await Promise.all(clients.map((store) => formationWorld(store, 'tcp', 'world', SIZE))), Array(SIZE).fill(expected));
    }
    // Another size, world or transport counts its own joins.
    assert.is(await formationWorld(clients[0]!, 'tcp', 'world', SIZE + 1), 'world');
    assert.is(await formationWorld(clients[0]!, 'tcp', 'other', SIZE), 'other');
    assert.is(await formationWorld(clients[0]!, 'websocket', 'world', SIZE), 'world');
  } finally {
    for (const store of clients) store.close();
  }
});

test.run();
