// `webccl serve` as a standalone process: prints an id that store clients can use.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { StoreClient } from '../lib/rendezvous/store-client.js';
import { nodeWebSocket } from '../lib/rendezvous/node-web-socket.js';
import { parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { within } from './within.js';

test('webccl serve prints a working id and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'bench/webccl.ts', 'serve', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const id = await within(new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()))), 15_000, 'id');
    assert.is(parseUniqueId(id).host, '127.0.0.1');
    const client = await within(StoreClient.connect({ id, WebSocket: nodeWebSocket(), timeoutMs: 3000 }), 3000, 'connect');
    await within(client.set('k', 'v'), 2000, 'set');
    assert.is(await within(client.getString('k'), 2000, 'get'), 'v');
    client.close();
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    assert.is(await within(exited, 5000, 'exit'), 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test.run();
