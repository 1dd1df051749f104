// torchrun-style launch: ranks get only RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
// MASTER_PORT (no WEBCCL_ID). Rank 0 hosts the rendezvous on MASTER_PORT; the others knock
// until it listens; all derive the same secret (or take WEBCCL_SECRET). On loopback that works
// out of the box and says so at INFO only (address-secret.test.ts covers the other addresses).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { findFreePort } from '../bin/launch/launch.js';
import { within } from './within.js';

const children: ChildProcess[] = [];
test.after(() => { for (const child of children) child.kill('SIGKILL'); });

function startRank(rank: number, size: number, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const { WEBCCL_ID: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'test/workers/comm-rank.ts', 'allreduce'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...inherited, RANK: String(rank), WORLD_SIZE: String(size), LOCAL_RANK: String(rank), MASTER_ADDR: '127.0.0.1', ...env },
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => { out += chunk; });
  child.stderr!.on('data', (chunk: Buffer) => { out += chunk; });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

function reducedLines(out: string): unknown[] {
  return out.split('\n').filter((line) => line.startsWith('{"') && line.includes('"reduced"'))
    .map((line) => { const r = JSON.parse(line) as Record<string, unknown>; return [r['algorithm'], r['wrong']]; });
}

test('MASTER_ADDR/MASTER_PORT without WEBCCL_ID: 3 processes, non-zero ranks start first', async () => {
  const port = String(await findFreePort('127.0.0.1'));
  const env = { MASTER_PORT: port, WEBCCL_DEBUG: 'INFO' };
  const late = [1, 2].map((rank) => startRank(rank, 3, env));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const results = await within(Promise.all([startRank(0, 3, env), ...late]), 60_000, 'ranks exit');
  for (const { code, out } of results) {
    assert.is(code, 0, out);
    assert.equal(reducedLines(out), [['ring', -1], ['tree', -1]], out);
    // A loopback job on the derived secret is the documented default: INFO, not a warning.
    assert.match(out, /webccl INIT INFO no WEBCCL_SECRET: the loopback rendezvous at 127\.0\.0\.1:\d+ uses a secret derived from its address/, out);
    assert.not.match(out, /WARN.*WEBCCL_SECRET/, out);
  }
});

test('WEBCCL_TRANSPORT=tcp under MASTER_ADDR/MASTER_PORT: every rank forms the tcp mesh', async () => {
  const port = String(await findFreePort('127.0.0.1'));
  const results = await within(Promise.all([0, 1].map((rank) => startRank(rank, 2, { MASTER_PORT: port, WEBCCL_TRANSPORT: 'tcp' }))), 60_000, 'ranks exit');
  for (const { code, out } of results) {
    assert.is(code, 0, out);
    assert.match(out, /"description":"tcp"/);
    assert.equal(reducedLines(out), [['ring', -1], ['tree', -1]], out);
  }
});

test('WEBCCL_SECRET is used when given, and must be well formed', async () => {
  const port = String(await findFreePort('127.0.0.1'));
  const secret = 'a1'.repeat(16);
  const results = await within(Promise.all([0, 1].map((rank) => startRank(rank, 2, { MASTER_PORT: port, WEBCCL_SECRET: secret }))), 60_000, 'ranks exit');
  for (const { code, out } of results) assert.is(code, 0, out);
  const bad = await within(startRank(0, 2, { MASTER_PORT: port, WEBCCL_SECRET: 'not-hex' }), 30_000, 'bad secret exits');
  assert.is.not(bad.code, 0);
  assert.match(bad.out, /WEBCCL_SECRET must be 32 lowercase hex digits/);
});

test.run();
