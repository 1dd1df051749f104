// The ntcp transport across separate Node processes: allReduce gives the right sums, and a rank
// killed with SIGKILL mid-allReduce makes every survivor reject well within the timeout (its
// sockets close with the process, the I/O threads see it) and give back their descriptors and
// I/O threads once they destroy.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getUniqueId } from '../lib/index.node.js';
import { describeUnavailable, loadNative } from '../lib/native/load.js';
import { killLeftoverRanks, startRank, type Report } from './helpers/rank-process.js';
import { within } from './within.js';

const loaded = loadNative();
if (!('addon' in loaded)) throw new Error(`the ntcp suite needs the addon: ${describeUnavailable(loaded)}`);

async function ntcpId(): Promise<string> {
  const id = await getUniqueId({ transport: 'ntcp', host: '127.0.0.1' });
  assert.match(id, /^webccl\+ntcp:\/\//);
  return id;
}

function gaveBack(ready: Report, destroyed: Report, peers: number): void {
  const before = ready['before'] as { fds: number };
  assert.ok(Number(destroyed['fds']) <= before.fds, `rank ${ready.rank}: ${String(destroyed['fds'])} descriptors after destroy, ${before.fds} before init`);
  assert.ok(Number(destroyed['threads']) <= Number(ready['threads']) - peers, `rank ${ready.rank}: ${String(destroyed['threads'])} threads after destroy, ${String(ready['threads'])} while joined`);
}

test('allReduce across 4 processes over the ntcp transport (ring and tree) gives the right sums', async () => {
  const id = await ntcpId();
  const ranks = [0, 1, 2, 3].map((rank) => startRank(id, rank, 4, 'allreduce'));
  const codes = await within(Promise.all(ranks.map((r) => r.exited)), 60_000, 'ranks exit');
  assert.equal(codes, [0, 0, 0, 0]);
  for (const r of ranks) {
    assert.equal(r.reports.filter((x) => x.event === 'reduced').map((x) => [x['algorithm'], x['wrong']]), [['ring', -1], ['tree', -1]]);
    assert.is(r.reports[0]?.['description'], 'ntcp');
  }
});

test('a rank killed with SIGKILL mid-allReduce: survivors reject fast, and give back descriptors and threads after destroy', async () => {
  const id = await ntcpId();
  const timeoutMs = 20_000;
  const ranks = [0, 1, 2, 3].map((rank) => startRank(id, rank, 4, 'victim', { WEBCCL_TIMEOUT_MS: String(timeoutMs) }));
  await within(Promise.all(ranks.map((r) => r.next('round'))), 60_000, 'every rank completed an allReduce');
  const killedAt = Date.now();
  ranks[2]!.child.kill('SIGKILL');
  const rejections = await within(Promise.all([0, 1, 3].map((r) => ranks[r]!.next('rejected'))), timeoutMs, 'survivors reject');
  for (const r of rejections) {
    assert.ok(['SystemError', 'RemoteError'].includes(String(r['code'])), `rank ${r.rank}: ${String(r['code'])} ${String(r['message'])}`);
    assert.ok(Number(r['at']) - killedAt < timeoutMs / 2, `rank ${r.rank} rejected ${Number(r['at']) - killedAt} ms after the kill`);
  }
  const destroyed = await within(Promise.all([0, 1, 3].map((r) => ranks[r]!.next('destroyed'))), 10_000, 'survivors destroy');
  for (const [i, r] of [0, 1, 3].entries()) gaveBack(ranks[r]!.reports.find((x) => x.event === 'ready')!, destroyed[i]!, 3);
  assert.equal(await within(Promise.all([0, 1, 3].map((r) => ranks[r]!.exited)), 10_000, 'survivors exit'), [0, 0, 0]);
});

test.after(() => killLeftoverRanks());
test.run();
