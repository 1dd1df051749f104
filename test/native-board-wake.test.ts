// A board thread asleep for its peer's arrival is woken by that arrival (native/src/board.cc:
// Board::sleep_on, Board::arrive): it sleeps on the futex word of the first rank still missing,
// that rank's own arrival counter, and the arrival rings it there when anyone sleeps. Arrivals
// are plain stores where every rank's process can fence its peers (membarrier), so the ranks
// agree on that at attach (arrivalFence) and fall back to a fenced arrival on every rank when
// one cannot. A missed wake would not hang a call (the sleeper looks again after a 20 ms slice),
// so the test counts how the sleeps ended (boardCounters: sleepsRung, sleepsRunOut) rather than
// timing them. Where the ranks outnumber their CPUs no rank fences its peers (each thread sleeps
// at every wait it is handed, and each fence interrupts every CPU); ranks bound one to a CPU, as
// the launcher binds them, do not.
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
 * (`'no membarrier'`); or each rank is made on one CPU (the board reads the making thread's
 * affinity): its own (`'a cpu each'`, as the launcher binds ranks; the first two of this
 * process's CPUs, the same one where it has one) or the same one (`'one cpu for both'`); or
 * rank 1 alone is made on one CPU, the first, rank 0 on them all (`'rank 1 on one cpu'`).
 */
function pair(how: 'as is' | 'no membarrier' | 'a cpu each' | 'one cpu for both' | 'rank 1 on one cpu'): NativeBoardSession[] {
  const name = boardSegmentName(randomBytes(16).toString('hex'), 'wake');
  const cpus = addon.threadAffinity!();
  return [0, 1].map((rank) => {
    if (rank === 1 && how === 'no membarrier') process.env['WEBCCL_BOARD_TEST_NO_MEMBARRIER'] = '1';
    if (how === 'a cpu each') addon.setThreadAffinity!([cpus[Math.min(rank, cpus.length - 1)]!]);
    if (how === 'one cpu for both' || (how === 'rank 1 on one cpu' && rank === 1)) addon.setThreadAffinity!([cpus[0]!]);
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
 * A fresh pair (made as pair(how)): both ranks report `fences` (arrivalFence: [rank 0's,
 * rank 1's]), and of `rounds` late calls at least one sleep is rung awake. Each late call ends
 * one sleep with both ranks there; a wake missed every time would leave them all to their
 * slices, while one may end at its slice by chance (the arrival just then).
 */
async function agreesAndWakes(how: Parameters<typeof pair>[0], fences: readonly [string, string], rounds: number): Promise<void> {
  const sessions = pair(how);
  await attach(sessions);
  assert.equal(sessions.map((s) => s.arrivalFence()), fences);
  const { rung, ranOut } = await lateCalls(sessions, rounds);
  assert.ok(rung >= 1, `sleeps rung awake ${rung}, run out ${ranOut}`);
  for (const s of sessions) s.close();
}

const outnumbered = 'the ranks outnumber their CPUs: each sleeps at every wait it is handed';
// This kernel offers membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED); on a host of one CPU two ranks outnumber it.
const twoCpus = addon.threadAffinity!().length >= 2 ? '' : outnumbered;

test('arrivals are plain stores where every rank can fence (membarrier); a sleeping rank is rung awake by the late arrival', async () => {
  await agreesAndWakes('as is', [twoCpus, twoCpus], 6);
});

test('ranks bound one to a CPU each (as the launcher binds them) have a CPU each: arrivals are plain stores', async () => {
  await agreesAndWakes('a cpu each', [twoCpus, twoCpus], 3);
});

test('one rank that cannot fence: every rank fences its arrivals, and a sleeping rank is still rung awake', async () => {
  await agreesAndWakes('no membarrier', ['rank 1 cannot fence its peers (membarrier)', 'rank 1 cannot fence its peers (turned off for a test)'], 6);
});

test('a rank bound to one CPU beside one that may run on any: a CPU each (the bound one gets its own first)', async () => {
  await agreesAndWakes('rank 1 on one cpu', [twoCpus, twoCpus], 3);
});

test('ranks that outnumber their CPUs do not fence their peers (they would sleep at every wait): every rank fences its arrivals', async () => {
  await agreesAndWakes('one cpu for both', [outnumbered, outnumbered], 3);
});

test.run();
