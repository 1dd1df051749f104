// `webccl serve` as a standalone process: prints an id that store clients can use. Its secret
// comes from --secret-file or WEBCCL_SECRET (never the command line, which every local user can
// read; --secret still works but warns), else is fresh and random.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreClient } from '../lib/rendezvous/store-client.js';
import { nodeWebSocket } from '../lib/transport/handshake/node-web-socket.js';
import { parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { within } from './within.js';

const CLI = ['--import', './test/register.mjs', 'bin/webccl.ts', 'serve', '--host', '127.0.0.1'];
const dir = mkdtempSync(join(tmpdir(), 'webccl-serve-test-'));
const SECRET = 'c0ffee'.padEnd(32, '7');
test.after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

/** Starts `webccl serve`, checks that its id works, stops it; returns the id and what it wrote on stderr. */
async function serveOnce(args: string[], env: Record<string, string | undefined> = {}): Promise<{ id: string; stderr: string }> {
  const { WEBCCL_SECRET: _inherited, ...inherited } = process.env;
  const child = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...inherited, ...env } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk; });
  try {
    const id = await within(new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().split('\n')[0]!.trim()))), 15_000, 'id');
    assert.is(parseUniqueId(id).host, '127.0.0.1');
    const client = await within(StoreClient.connect({ id, WebSocket: nodeWebSocket(), timeoutMs: 3000 }), 3000, 'connect');
    await within(client.set('k', 'v'), 2000, 'set');
    assert.is(await within(client.getString('k'), 2000, 'get'), 'v');
    client.close();
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    assert.is(await within(exited, 5000, 'exit'), 0);
    return { id, stderr };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

function serveFails(args: string[]): { status: number | null; stderr: string } {
  const { WEBCCL_SECRET: _inherited, ...env } = process.env;
  const run = spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 15_000, env });
  return { status: run.status, stderr: run.stderr };
}

test('webccl serve prints a working id with a fresh secret each time, and stops on SIGTERM', async () => {
  const [a, b] = [await serveOnce([]), await serveOnce([])];
  assert.is.not(parseUniqueId(a.id).secret, parseUniqueId(b.id).secret);
  assert.is(a.stderr, '');
});

test('--secret-file: 32 hex digits with a trailing newline', async () => {
  const { id, stderr } = await serveOnce(['--secret-file', file('secret', `${SECRET}\n`)]);
  assert.is(parseUniqueId(id).secret, SECRET);
  assert.is(stderr, '');
});

test('WEBCCL_SECRET in the environment', async () => {
  const { id, stderr } = await serveOnce([], { WEBCCL_SECRET: SECRET });
  assert.is(parseUniqueId(id).secret, SECRET);
  assert.is(stderr, '');
});

test('--secret still works but warns that the process list shows it', async () => {
  const { id, stderr } = await serveOnce(['--secret', SECRET]);
  assert.is(parseUniqueId(id).secret, SECRET);
  assert.match(stderr, /warning: --secret is visible to every local user in the process list; use --secret-file PATH or WEBCCL_SECRET/);
});

test('a bad or missing secret file is a clear error naming the file', () => {
  for (const content of ['', 'not-hex', `${SECRET}\n\n`, SECRET.toUpperCase(), `${SECRET}0`, ` ${SECRET}`]) {
    const path = file('bad', content);
    const run = serveFails(['--secret-file', path]);
    assert.is(run.status, 2, JSON.stringify(content));
    assert.ok(run.stderr.includes(`the content of --secret-file ${path} (one trailing newline allowed) must be 32 lowercase hex digits`), run.stderr);
    assert.not.ok(run.stderr.includes(SECRET), 'the error echoes the file');
  }
  const missing = join(dir, 'nowhere');
  const run = serveFails(['--secret-file', missing]);
  assert.is(run.status, 2);
  assert.ok(run.stderr.includes(`--secret-file ${missing}: cannot read it (ENOENT)`), run.stderr);
  assert.match(serveFails(['--secret', 'xyz']).stderr, /--secret must be 32 lowercase hex digits/);
  assert.match(serveFails(['--secret', SECRET, '--secret-file', missing]).stderr, /give --secret-file or --secret, not both/);
});

test.run();
