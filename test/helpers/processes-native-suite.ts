// A native transport (shm or ntcp) across separate Node processes (test/workers/comm-rank.ts):
// allReduce gives the right sums; a rank killed with SIGKILL mid-allReduce makes every survivor
// reject well within the timeout (the provider sees the death: pidfd for shm, the socket for
// tcp) and give back descriptors and native threads once it destroys, leaving no /dev/shm name.
// shm-processes.test.ts and ntcp-processes.test.ts run it, then add their own tests.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getUniqueId } from '../../lib/index.node.js';
import { within } from '../within.js';
import { requireAddon, shmLeftovers, type NativeTransport } from './native-transports.js';
import { killLeftoverRanks, startRank, type Report } from './rank-process.js';

/** Each survivor gave back what its communicator held: descriptors as before init, the native threads. */
function gaveBack(ready: Report, destroyed: Report, peers: number): void {
  const before = ready['before'] as { fds: number };
  assert.ok(Number(destroyed['fds']) <= before.fds, `rank ${ready.rank}: ${String(destroyed['fds'])} descriptors after destroy, ${before.fds} before init`);
  assert.ok(Number(destroyed['threads']) <= Number(ready['threads']) - peers, `rank ${ready.rank}: ${String(destroyed['threads'])} threads after destroy, ${String(ready['threads'])} while joined`);
}

/**
 * Starts `size` ranks in an allReduce loop (`env` for them, e.g. VICTIM_FLOATS), SIGKILLs rank
 * `victim` once each has finished a round, and checks the survivors: they reject within half
 * the timeout (with a message matching `names`, when given), give back descriptors and native
 * threads at destroy, exit 0, leave no names.
 */
export async function killMidAllReduce(id: string, size: number, victim: number, env: Record<string, string> = {}, names?: RegExp): Promise<void> {
  const timeoutMs = 20_000;
  const ranks = Array.from({ length: size }, (_, rank) => startRank(id, rank, size, 'victim', { WEBCCL_TIMEOUT_MS: String(timeoutMs), ...env }));
  const survivors = ranks.map((_, rank) => rank).filter((rank) => rank !== victim);
  await within(Promise.all(ranks.map((r) => r.next('round'))), 60_000, 'every rank completed an allReduce');
  const killedAt = Date.now();
  ranks[victim]!.child.kill('SIGKILL');
  const rejections = await within(Promise.all(survivors.map((r) => ranks[r]!.next('rejected'))), timeoutMs, 'survivors reject');
  for (const r of rejections) {
    assert.ok(['SystemError', 'RemoteError'].includes(String(r['code'])), `rank ${r.rank}: ${String(r['code'])} ${String(r['message'])}`);
    if (names) assert.match(String(r['message']), names);
    // Far below the 20 s timeout: the death is seen, not waited out (generous for a loaded machine).
    assert.ok(Number(r['at']) - killedAt < timeoutMs / 2, `rank ${r.rank} rejected ${Number(r['at']) - killedAt} ms after the kill`);
  }
  const destroyed = await within(Promise.all(survivors.map((r) => ranks[r]!.next('destroyed'))), 10_000, 'survivors destroy');
  for (const [i, r] of survivors.entries()) gaveBack(ranks[r]!.reports.find((x) => x.event === 'ready')!, destroyed[i]!, survivors.length);
  assert.equal(await within(Promise.all(survivors.map((r) => ranks[r]!.exited)), 10_000, 'survivors exit'), survivors.map(() => 0));
  assert.equal(shmLeftovers(id), []);
}

/** Registers the shared tests; returns a maker of fresh job ids. The caller adds its own and calls test.run(). */
export function registerProcessesNativeSuite(transport: NativeTransport): () => Promise<string> {
  requireAddon(transport);
  const newId = async () => {
    const id = await getUniqueId({ transport, host: '127.0.0.1' });
    assert.match(id, new RegExp(`^webccl\\+${transport}://`));
    return id;
  };

  test(`allReduce across 4 processes over the ${transport} transport (ring and tree) gives the right sums`, async () => {
    const id = await newId();
    const ranks = [0, 1, 2, 3].map((rank) => startRank(id, rank, 4, 'allreduce'));
    const codes = await within(Promise.all(ranks.map((r) => r.exited)), 60_000, 'ranks exit');
    assert.equal(codes, [0, 0, 0, 0]);
    for (const r of ranks) {
      assert.equal(r.reports.filter((x) => x.event === 'reduced').map((x) => [x['algorithm'], x['wrong']]), [['ring', -1], ['tree', -1]]);
      assert.is(r.reports[0]?.['description'], transport);
    }
    assert.equal(shmLeftovers(id), []);
  });

  test('a rank killed with SIGKILL mid-allReduce: survivors reject fast, give back descriptors and threads after destroy, leave no names', async () => {
    await killMidAllReduce(await newId(), 4, 2);
  });

  test.after(() => killLeftoverRanks());
  return newId;
}
