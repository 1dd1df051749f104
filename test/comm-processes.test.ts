// Communicators across separate Node processes over the websocket world: allReduce with both
// algorithms, and a rank killed mid-allReduce (every survivor rejects within the timeout and exits).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getUniqueId } from '../lib/index.node.js';
import { killLeftoverRanks, startRank } from './helpers/rank-process.js';
import { within } from './within.js';

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

test.after(killLeftoverRanks);

test.run();
