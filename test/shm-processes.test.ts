// The shm transport across separate Node processes: allReduce gives the right sums; a rank
// killed with SIGKILL mid-allReduce makes every survivor reject fast (the provider watches its
// peers' pidfds) and leaves no /dev/shm name, descriptor or progress thread behind once the
// survivors destroy; a rank frozen with SIGSTOP makes the others time out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { getUniqueId } from '../lib/index.node.js';
import { describeUnavailable, loadNative } from '../lib/native/load.js';
import { shmPrefix } from '../lib/native/shm.js';
import { parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { killLeftoverRanks, startRank, type Report } from './helpers/rank-process.js';
import { within } from './within.js';

const loaded = loadNative();
if (!('addon' in loaded)) throw new Error(`the shm suite needs the addon: ${describeUnavailable(loaded)}`);

const leftovers = (id: string) => readdirSync('/dev/shm').filter((name) => name.includes(shmPrefix(parseUniqueId(id).secret)));

async function shmId(): Promise<string> {
  const id = await getUniqueId({ transport: 'shm', host: '127.0.0.1' });
  assert.match(id, /^webccl\+shm:\/\//);
  return id;
}

/** Each survivor gave back what its communicator held: descriptors as before init, the progress threads. */
function gaveBack(ready: Report, destroyed: Report, peers: number): void {
  const before = ready['before'] as { fds: number };
  assert.ok(Number(destroyed['fds']) <= before.fds, `rank ${ready.rank}: ${String(destroyed['fds'])} descriptors after destroy, ${before.fds} before init`);
  assert.ok(Number(destroyed['threads']) <= Number(ready['threads']) - peers, `rank ${ready.rank}: ${String(destroyed['threads'])} threads after destroy, ${String(ready['threads'])} while joined`);
}

test('allReduce across 4 processes over the shm transport (ring and tree) gives the right sums', async () => {
  const id = await shmId();
  const ranks = [0, 1, 2, 3].map((rank) => startRank(id, rank, 4, 'allreduce'));
  const codes = await within(Promise.all(ranks.map((r) => r.exited)), 60_000, 'ranks exit');
  assert.equal(codes, [0, 0, 0, 0]);
  for (const r of ranks) {
    assert.equal(r.reports.filter((x) => x.event === 'reduced').map((x) => [x['algorithm'], x['wrong']]), [['ring', -1], ['tree', -1]]);
    assert.is(r.reports[0]?.['description'], 'shm');
  }
  assert.equal(leftovers(id), []);
});

test('a rank killed with SIGKILL mid-allReduce: survivors reject fast, and leave nothing behind after destroy', async () => {
  const id = await shmId();
  const timeoutMs = 20_000;
  const ranks = [0, 1, 2, 3].map((rank) => startRank(id, rank, 4, 'victim', { WEBCCL_TIMEOUT_MS: String(timeoutMs) }));
  await within(Promise.all(ranks.map((r) => r.next('round'))), 60_000, 'every rank completed an allReduce');
  const killedAt = Date.now();
  ranks[2]!.child.kill('SIGKILL');
  const rejections = await within(Promise.all([0, 1, 3].map((r) => ranks[r]!.next('rejected'))), timeoutMs, 'survivors reject');
  for (const r of rejections) {
    assert.ok(['SystemError', 'RemoteError'].includes(String(r['code'])), `rank ${r.rank}: ${String(r['code'])} ${String(r['message'])}`);
    // Far below the 20 s timeout: the death is seen, not waited out (generous for a loaded machine).
    assert.ok(Number(r['at']) - killedAt < timeoutMs / 2, `rank ${r.rank} rejected ${Number(r['at']) - killedAt} ms after the kill`);
  }
  const destroyed = await within(Promise.all([0, 1, 3].map((r) => ranks[r]!.next('destroyed'))), 10_000, 'survivors destroy');
  for (const [i, r] of [0, 1, 3].entries()) gaveBack(ranks[r]!.reports.find((x) => x.event === 'ready')!, destroyed[i]!, 3);
  assert.equal(await within(Promise.all([0, 1, 3].map((r) => ranks[r]!.exited)), 10_000, 'survivors exit'), [0, 0, 0]);
  assert.equal(leftovers(id), []);
});

test('a rank frozen with SIGSTOP mid-allReduce: the others time out; its segments go when it dies', async () => {
  const id = await shmId();
  const timeoutMs = 3000;
  const ranks = [0, 1, 2].map((rank) => startRank(id, rank, 3, 'victim', { WEBCCL_TIMEOUT_MS: String(timeoutMs) }));
  await within(Promise.all(ranks.map((r) => r.next('round'))), 60_000, 'every rank completed an allReduce');
  ranks[1]!.child.kill('SIGSTOP');
  try {
    const rejections = await within(Promise.all([0, 2].map((r) => ranks[r]!.next('rejected'))), timeoutMs * 4, 'survivors reject');
    // Rank 1 is alive as far as its pidfd says: the communicator's deadline ends the wait. A
    // survivor may instead hear from the other survivor, which timed out first (RemoteError).
    assert.ok(rejections.some((r) => r['code'] === 'Timeout'), rejections.map((r) => `${String(r['code'])}: ${String(r['message'])}`).join('; '));
    for (const r of rejections) assert.ok(['Timeout', 'RemoteError'].includes(String(r['code'])), `rank ${r.rank}: ${String(r['message'])}`);
    assert.equal(await within(Promise.all([0, 2].map((r) => ranks[r]!.exited)), 10_000, 'survivors exit'), [0, 0]);
  } finally {
    ranks[1]!.child.kill('SIGKILL');
  }
  await within(ranks[1]!.exited, 5000, 'the frozen rank dies');
  assert.equal(leftovers(id), []);
});

test.after(killLeftoverRanks);
test.run();
