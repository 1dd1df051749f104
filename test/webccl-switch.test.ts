// `webccl switch` as a standalone process: a job of two workers runs through it, and SIGTERM
// stops it cleanly, printing the job's counters; bad flags exit with a message.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../lib/switch/udp-link.js'; // workers reach the switch by UDP
import { SwitchWorker } from '../lib/switch/worker.js';
import { nodeWebSocket } from '../lib/transport/handshake/node-web-socket.js';
import { within } from './within.js';

const CLI = ['--import', './test/register.mjs', 'bin/webccl.ts', 'switch', '--host', '127.0.0.1', '--port', '0'];
const SECRET = 'beef'.padEnd(32, '5');
const dir = mkdtempSync(join(tmpdir(), 'webccl-switch-test-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('runs a job (one UDP worker, one on the --ws-port WebSocket door), stops on SIGTERM and prints per-job counters', async () => {
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
  const child = spawn(process.execPath, [...CLI, '--secret-file', secretFile, '--slots', '512', '--drop', '0.01', '--ws-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    const address = await within(new Promise<string>((resolve) => {
      child.stdout.on('data', () => { const m = /switch (\S+)\nwebsocket (\S+)/.exec(stdout); if (m) resolve(m[1]!); });
    }), 15_000, 'address');
    const url = /websocket (\S+)/.exec(stdout)![1]!;
    assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+$/);
    assert.not.match(stdout, /secret/, 'a secret from a file is not printed');
    const workers = await within(Promise.all([0, 1].map((rank) => SwitchWorker.connect({
      switch: rank === 0 ? address : url, ...(rank === 0 ? {} : { via: 'websocket' as const, webSocket: nodeWebSocket() }), secret: SECRET, world: 'cli', rank, size: 2, timeoutMs: 10_000,
    }))), 10_000, 'join');
    const got = await within(Promise.all(workers.map((w, r) => w.allReduce(new Int32Array(5000).fill(r + 1)))), 20_000, 'allreduce');
    for (const g of got) assert.ok(g.every((v) => v === 3));
    for (const w of workers) w.close();
    child.kill('SIGTERM');
    assert.is(await within(exited, 10_000, 'exit'), 0);
    // The workers' goodbyes race the SIGTERM: the job is reported finished or still running.
    assert.match(stdout, /job 0 'cli' \(2 workers(, running)?\): in \d+, out \d+, retransmissions \d+, wrong-job 0, malformed 0/);
    assert.match(stdout, /injected \d+ drops/);
    // The default (auto) takes the native data plane when the addon is built, as in CI.
    assert.match(stdout, /data plane native\n[^]*switch \(native data plane\)/);
  } finally {
    child.kill('SIGKILL');
  }
});

/** Starts `webccl switch` with `args`; resolves with the process, its address and its output so far. */
async function startSwitch(args: string[]) {
  const child = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { text: '' };
  child.stdout.on('data', (chunk: Buffer) => { out.text += chunk; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const address = await within(new Promise<string>((resolve) => {
    child.stdout.on('data', () => { const m = /switch (\S+)/.exec(out.text); if (m) resolve(m[1]!); });
  }), 15_000, 'address');
  return { child, address, out, exited };
}

test('--parent makes a leaf: a job of two workers at the leaf reduces through the root, and the leaf prints its upward counters', async () => {
  const rootSecret = join(dir, 'root-secret');
  const leafSecret = join(dir, 'leaf-secret');
  writeFileSync(rootSecret, `${'a'.repeat(32)}\n`, { mode: 0o600 });
  writeFileSync(leafSecret, `${SECRET}\n`, { mode: 0o600 });
  const root = await startSwitch(['--secret-file', rootSecret]);
  try {
    const leaf = await startSwitch(['--secret-file', leafSecret, '--parent', root.address, '--parent-secret-file', rootSecret]);
    try {
      assert.match(leaf.out.text, `(leaf of ${root.address})`);
      const workers = await within(Promise.all([0, 1].map((rank) => SwitchWorker.connect({
        switch: leaf.address, secret: SECRET, world: 'cli-tree', rank, size: 2, total: 2, uplink: { rank: 0, size: 1 }, timeoutMs: 10_000,
      }))), 10_000, 'join');
      const got = await within(Promise.all(workers.map((w, r) => w.allReduce(new Int32Array(5000).fill(r + 1)))), 20_000, 'allreduce');
      for (const g of got) assert.ok(g.every((v) => v === 3));
      leaf.child.kill('SIGTERM');
      assert.is(await within(leaf.exited, 10_000, 'leaf exit'), 0);
      assert.match(leaf.out.text, /^data plane js$/m, 'a leaf runs the TypeScript plane and says so');
      assert.match(leaf.out.text, /job 0 'cli-tree' \(2 workers(, running)?\): in \d+, .*; up 79, up retransmissions \d+, root results 79/);
      for (const w of workers) w.close();
    } finally {
      leaf.child.kill('SIGKILL');
    }
  } finally {
    root.child.kill('SIGKILL');
  }
});

test('bad flags exit with status 2 and a reason', () => {
  // Without WEBCCL_SECRET, so that --parent alone has no secret to use.
  const run = (...args: string[]) => spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 15_000, env: { ...process.env, WEBCCL_SECRET: '' } });
  assert.match(run('--max-workers', '40').stderr, /--max-workers 40 is not in \[1, 32\]/);
  assert.match(run('--reorder', 'x').stderr, /--reorder x is not a number/);
  assert.match(run('--data-plane', 'gpu').stderr, /--data-plane gpu is not native, js or auto/);
  assert.match(run('--parent-secret-file', 'x').stderr, /--parent-secret-file needs --parent HOST:PORT/);
  assert.match(run('--parent', 'nowhere').stderr, /switch address 'nowhere' is not host:port/);
  assert.match(run('--parent', '127.0.0.1:9').stderr, /--parent needs the root switch's secret/);
  const status = run('--bogus', '1');
  assert.is(status.status, 2);
  assert.match(status.stderr, /unknown option --bogus/);
});

test.run();
