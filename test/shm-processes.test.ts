// The shm transport across separate Node processes: the shared suite (right sums; a rank
// killed with SIGKILL: survivors reject fast, the provider watching its peers' pidfds, and leave
// no /dev/shm name, descriptor or progress thread; test/helpers/processes-native-suite.ts,
// shared with ntcp-processes), plus its own: the same kill while 16 MiB allReduces move their
// segments by reference (single copy), and a rank frozen with SIGSTOP makes the others time out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { shmLeftovers } from './helpers/native-transports.js';
import { killMidAllReduce, registerProcessesNativeSuite } from './helpers/processes-native-suite.js';
import { startRank } from './helpers/rank-process.js';
import { within } from './within.js';

const newId = registerProcessesNativeSuite('shm');

test('a rank SIGKILLed during a 16 MiB allReduce (its segments move by reference): survivors reject fast, leave nothing', async () => {
  await killMidAllReduce(await newId(), 3, 1, { VICTIM_FLOATS: String(2 ** 22) });
});

test('a rank frozen with SIGSTOP mid-allReduce: the others time out; its segments go when it dies', async () => {
  const id = await newId();
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
  assert.equal(shmLeftovers(id), []);
});

test.run();
