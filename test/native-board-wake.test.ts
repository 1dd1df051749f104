// A board thread asleep for its peer's arrival is woken by that arrival (native/src/board.cc:
// Board::sleep_on, Board::arrive): it sleeps on the futex word of the first rank still missing,
// that rank's own arrival counter, and the arrival rings it there when anyone sleeps. Arrivals
// are plain stores where every rank's process can fence its peers (membarrier), so the ranks
// agree on that at attach (arrivalFence) and fall back to a fenced arrival on every rank when
// one cannot. A missed wake would not hang a call (the sleeper looks again after a 20 ms slice),
// so the test counts how the sleeps ended (boardCounters: sleepsRung, sleepsRunOut) rather than
// timing them. Where a rank has fewer CPUs than ranks it does not fence its peers (its thread
// sleeps at every wait it is handed, and each fence interrupts every CPU).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { boardSegmentName, NativeBoardSession } from '../lib/native/board.js';
import { BOARD_BUFFER_BYTES } from '../lib/transport/board.js';
import { requireAddon } from './helpers/native-transports.js';
import { within } from './within.js';

const load = requireAddon('shm');
if (!('addon' in load)) throw new Error('unreachable');
const { addon } = load;

/**
 * Two ranks' sessions of a fresh board. Rank 1 acts as if its process could not fence its peers
 * (`rankOne: 'no membarrier'`), or is made on one CPU only (`'one cpu'`: the board reads the
 * making thread's affinity, so two ranks outnumber its CPUs).
 */
function pair(rankOne: 'as is' | 'no membarrier' | 'one cpu'): NativeBoardSession[] {
  const name = boardSegmentName(randomBytes(16).toString('hex'), 'wake');
  const cpus = addon.threadAffinity!();
  return [0, 1].map((rank) => {
    if (rank === 1 && rankOne === 'no membarrier') process.env['WEBCCL_BOARD_TEST_NO_MEMBARRIER'] = '1';
    if (rank === 1 && rankOne === 'one cpu') addon.setThreadAffinity!([cpus[0]!]);
    try {
      return new NativeBoardSession(addon, name, rank, 2, BOARD_BUFFER_BYTES, 10_000);
    } finally {
      delete process.env['WEBCCL_BOARD_TEST_NO_MEMBARRIER'];
      addon.setThreadAffinity!(cpus);
    }
  });
}

const work = { collective: 'allReduce', dtype: 'int32', op: 'sum' } as const;

/**
 * `rounds` calls in which rank 0 arrives first and its board thread goes to sleep (its JS
 * thread's spin and the thread's poll end long before rank 1 comes, 30 ms later), then rank 1
 * arrives: exact sums, and how the sleeps that saw both ranks there ended.
 */
async function lateCalls(sessions: readonly NativeBoardSession[], rounds: number): Promise<{ rung: number; ranOut: number }> {
  const before = addon.boardCounters!();
  for (let i = 0; i < rounds; i++) {
    const data = [0, 1].map((r) => Int32Array.of(1000 * i + r, -7 * r + i));
    const calls = sessions.map((s) => s.forCall(i));
    const first = calls[0]!.run(new Uint8Array(data[0]!.buffer), work).finally(() => calls[0]!.done());
    await new Promise((resolve) => setTimeout(resolve, 30));
    const second = calls[1]!.run(new Uint8Array(data[1]!.buffer), work).finally(() => calls[1]!.done());
    await within(Promise.all([first, second]), 10_000, `late call ${i}`);
    for (const r of [0, 1]) assert.equal([...data[r]!], [2000 * i + 1, 2 * i - 7], `call ${i}, rank ${r}`);
  }
  const after = addon.boardCounters!();
  return { rung: after.sleepsRung - before.sleepsRung, ranOut: after.sleepsRunOut - before.sleepsRunOut };
}

async function attach(sessions: readonly NativeBoardSession[]): Promise<void> {
  await within(Promise.all(sessions.map((s) => {
    const call = s.forCall(1_000_000);
    return call.run(new Uint8Array(8), work).finally(() => call.done());
  })), 10_000, 'the first call');
}

/**
 * A fresh pair (rankOne as in pair()): both ranks report `fences` (arrivalFence: [rank 0's,
 * rank 1's]), and of `rounds` late calls at least one sleep is rung awake. Each late call ends
 * one sleep with both ranks there; a wake missed every time would leave them all to their
 * slices, while one may end at its slice by chance (the arrival just then).
 */
async function agreesAndWakes(rankOne: Parameters<typeof pair>[0], fences: readonly [string, string], rounds: number): Promise<void> {
  const sessions = pair(rankOne);
  await attach(sessions);
  assert.equal(sessions.map((s) => s.arrivalFence()), fences);
  const { rung, ranOut } = await lateCalls(sessions, rounds);
  assert.ok(rung >= 1, `sleeps rung awake ${rung}, run out ${ranOut}`);
  for (const s of sessions) s.close();
}

const outnumbered = 'cannot fence its peers (more ranks than its CPUs: it sleeps at every wait it is handed)';

test('arrivals are plain stores where every rank can fence (membarrier); a sleeping rank is rung awake by the late arrival', async () => {
  // This kernel offers membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED); on a host of one CPU two ranks outnumber it.
  const fences = addon.threadAffinity!().length >= 2 ? '' : `rank 0 ${outnumbered}`;
  await agreesAndWakes('as is', [fences, fences], 6);
});

test('one rank that cannot fence: every rank fences its arrivals, and a sleeping rank is still rung awake', async () => {
  await agreesAndWakes('no membarrier', ['rank 1 cannot fence its peers (membarrier)', 'rank 1 cannot fence its peers (turned off for a test)'], 6);
});

test('a rank with fewer CPUs than ranks does not fence its peers (it would sleep at every wait): every rank fences its arrivals', async () => {
  await agreesAndWakes('one cpu', ['rank 1 cannot fence its peers (membarrier)', `rank 1 ${outnumbered}`], 3);
});

test.run();
