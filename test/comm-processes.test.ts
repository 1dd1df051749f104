// Communicators across separate Node processes over the websocket world: allReduce with both
// algorithms, and a rank killed mid-allReduce (every survivor rejects within the timeout and exits).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { getUniqueId } from '../lib/index.node.js';
import { within } from './within.js';

interface Report { rank: number; event: string; [field: string]: unknown }

const children: ChildProcess[] = [];

function startRank(id: string, rank: number, size: number, mode: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'test/workers/comm-rank.ts', mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, WEBCCL_ID: id, RANK: String(rank), WORLD_SIZE: String(size), LOCAL_RANK: String(rank), ...env },
  });
  children.push(child);
  const reports: Report[] = [];
  const waiting: (() => void)[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) reports.push(JSON.parse(line) as Report);
    waiting.splice(0).forEach((wake) => wake());
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const next = (event: string) => new Promise<Report>((resolve) => {
    const look = () => {
      const found = reports.find((r) => r.event === event);
      if (found) resolve(found);
      else waiting.push(look);
    };
    look();
  });
  return { child, reports, exited, next };
}

test('allReduce across 4 processes (ring and tree) gives the right sums', async () => {
  const id = await getUniqueId({ transport: 'websocket', host: '127.0.0.1' });
  const ranks = [0, 1, 2, 3].map((rank) => startRank(id, rank, 4, 'allreduce'));
  const codes = await within(Promise.all(ranks.map((r) => r.exited)), 60_000, 'ranks exit');
  assert.equal(codes, [0, 0, 0, 0]);
  for (const r of ranks) {
    const reduced = r.reports.filter((x) => x.event === 'reduced');
    assert.equal(reduced.map((x) => [x['algorithm'], x['wrong']]), [['ring', -1], ['tree', -1]]);
    assert.match(String(r.reports[0]?.['description']), /^websocket/);
  }
});

test('allReduce across 4 processes over the tcp transport (ring and tree) gives the right sums', async () => {
  const id = await getUniqueId({ transport: 'tcp', host: '127.0.0.1' });
  assert.match(id, /^webccl\+tcp:\/\//);
  const ranks = [0, 1, 2, 3].map((rank) => startRank(id, rank, 4, 'allreduce'));
  const codes = await within(Promise.all(ranks.map((r) => r.exited)), 60_000, 'ranks exit');
  assert.equal(codes, [0, 0, 0, 0]);
  for (const r of ranks) {
    assert.equal(r.reports.filter((x) => x.event === 'reduced').map((x) => [x['algorithm'], x['wrong']]), [['ring', -1], ['tree', -1]]);
    assert.is(r.reports[0]?.['description'], 'tcp');
  }
});

test('a rank killed mid-allReduce: every survivor rejects within the timeout and exits', async () => {
  const id = await getUniqueId({ transport: 'websocket', host: '127.0.0.1' });
  const timeoutMs = 5000;
  const ranks = [0, 1, 2, 3].map((rank) => startRank(id, rank, 4, 'victim', { WEBCCL_TIMEOUT_MS: String(timeoutMs) }));
  await within(Promise.all(ranks.map((r) => r.next('round'))), 60_000, 'every rank completed an allReduce');
  const killedAt = Date.now();
  ranks[2]!.child.kill('SIGKILL');
  const rejections = await within(Promise.all([0, 1, 3].map((r) => ranks[r]!.next('rejected'))), timeoutMs + 3000, 'survivors reject');
  for (const r of rejections) {
    assert.ok(['SystemError', 'RemoteError', 'Timeout'].includes(String(r['code'])), `rank ${r.rank}: ${String(r['message'])}`);
    assert.ok(Number(r['at']) - killedAt < timeoutMs + 1000, `rank ${r.rank} rejected ${Number(r['at']) - killedAt} ms after the kill`);
  }
  const codes = await within(Promise.all([0, 1, 3].map((r) => ranks[r]!.exited)), 10_000, 'survivors exit');
  assert.equal(codes, [0, 0, 0]);
});

test.after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

test.run();
