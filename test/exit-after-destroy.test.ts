// A rank's process ends promptly after destroy(): nothing of a destroyed communicator (sockets,
// servers, timers) keeps its event loop alive, even with strangers connected to the rendezvous
// it hosts (torchrun-style rank 0) or with a peer that is frozen (SIGSTOP) and will never answer
// the close. Each rank is a child process that destroys when told and then ends by itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { findFreePort } from '../bin/launch/launch.js';
import { RawStranger } from './helpers/raw-stranger.js';
import { within } from './within.js';

/** Generous for a loaded 2-core machine; before the fix these exits came 28 to 60 s late. */
const EXIT_BOUND_MS = 6000;

interface Report { rank: number; event: string; [field: string]: unknown }

const children: ChildProcess[] = [];
test.after(() => { for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });

function startRank(rank: number, size: number, env: Record<string, string>) {
  const { WEBCCL_ID: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'test/workers/linger-rank.ts'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...inherited, RANK: String(rank), WORLD_SIZE: String(size), LOCAL_RANK: String(rank), MASTER_ADDR: '127.0.0.1', ...env },
  });
  children.push(child);
  const reports: Report[] = [];
  const wakers: (() => void)[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) reports.push(JSON.parse(line) as Report);
    wakers.splice(0).forEach((wake) => wake());
  });
  const exited = new Promise<number>((resolve) => child.on('exit', () => resolve(Date.now())));
  const next = (event: string) => within(new Promise<Report>((resolve) => {
    const look = () => {
      const found = reports.find((r) => r.event === event);
      if (found) resolve(found);
      else wakers.push(look);
    };
    look();
  }), 60_000, `rank ${rank}: ${event}`);
  const destroy = () => child.stdin!.end('destroy\n');
  return { child, exited, next, destroy };
}

type Rank = ReturnType<typeof startRank>;

/** Milliseconds between the rank's destroy() resolving and its process exiting. */
async function exitDelay(rank: Rank, what: string): Promise<number> {
  const destroyed = await rank.next('destroyed');
  const exitedAt = await within(rank.exited, 20_000, `${what}: exit`);
  assert.is(rank.child.exitCode, 0, `${what}: exit code`);
  return exitedAt - Number(destroyed['at']);
}

/** Strangers of every kind, connected to `port` and left there. */
async function strangersOn(port: number): Promise<RawStranger[]> {
  const silent = await RawStranger.connect('127.0.0.1', port);
  await silent.upgrade();
  const trickle = await RawStranger.connect('127.0.0.1', port);
  trickle.trickleHeaders(300);
  return [silent, trickle, await RawStranger.connect('127.0.0.1', port)];
}

for (const size of [1, 2]) {
  test(`${size}-rank torchrun-style job with strangers on its rendezvous port: every rank exits promptly after destroy()`, async () => {
    const port = await findFreePort('127.0.0.1');
    const ranks = Array.from({ length: size }, (_, rank) => startRank(rank, size, { MASTER_PORT: String(port) }));
    await Promise.all(ranks.map((r) => r.next('reduced')));
    const strangers = await strangersOn(port);
    try {
      ranks.forEach((r) => r.destroy());
      const delays = await Promise.all(ranks.map((r, i) => exitDelay(r, `rank ${i}`)));
      console.log(`# ${size} rank(s), strangers connected: exit delay after destroy() ${delays.join(', ')} ms`);
      delays.forEach((ms, i) => assert.ok(ms < EXIT_BOUND_MS, `rank ${i} exited ${ms} ms after destroy()`));
    } finally {
      strangers.forEach((s) => s.destroy());
    }
  });
}

for (const transport of ['websocket', 'tcp', 'shm']) {
  test(`${transport}: the survivor of a frozen (SIGSTOPped) peer exits promptly after destroy()`, async () => {
    const port = await findFreePort('127.0.0.1');
    const ranks = [0, 1].map((rank) => startRank(rank, 2, { MASTER_PORT: String(port), WEBCCL_TRANSPORT: transport }));
    await Promise.all(ranks.map((r) => r.next('reduced')));
    ranks[1]!.child.kill('SIGSTOP');
    try {
      ranks[0]!.destroy();
      const delay = await exitDelay(ranks[0]!, 'rank 0');
      console.log(`# ${transport}: survivor of a frozen peer exited ${delay} ms after destroy()`);
      assert.ok(delay < EXIT_BOUND_MS, `rank 0 exited ${delay} ms after destroy()`);
    } finally {
      ranks[1]!.child.kill('SIGKILL');
    }
  });
}

test.run();
