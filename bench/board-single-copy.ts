// The board's single copy against its lanes, alternated in one process: RANKS board sessions of
// one process (native/src/board.cc; process_vm_readv then reads this process's own memory, the
// same kernel path as across processes) run allgather or broadcast, once on a board with single
// copy from 1 byte and once on a board with it off (WEBCCL_BOARD_SINGLE_COPY_BYTES=off), in
// turns, ROUNDS rounds of CALLS calls each per size. Prints per size the medians over rounds of
// wall µs per call and CPU µs per call (process.cpuUsage: every thread, board threads included),
// and the per-round ratio single/lanes (min, median, max). CPU is what a loaded host distorts
// least: the copies a path makes, not how long the scheduler kept the ranks waiting.
//   KIND=allGather RANKS=4 SIZES=262144,1048576,4194304,16777216 node --import ./test/register.mjs bench/board-single-copy.ts
import { randomBytes } from 'node:crypto';
import { loadNative } from '../lib/native/load.js';
import { boardSegmentName, NativeBoardSession } from '../lib/native/board.js';
import type { BoardCollective } from '../lib/native/addon.js';
import { BOARD_BUFFER_BYTES } from '../lib/transport/board.js';

const load = loadNative();
if (!('addon' in load)) throw new Error(`board-single-copy: no addon (${load.unavailable})`);
const { addon } = load;
const kind = (process.env['KIND'] ?? 'allGather') as BoardCollective;
const ranks = Number(process.env['RANKS'] ?? 4);
const sizes = (process.env['SIZES'] ?? '262144,1048576,4194304,16777216').split(',').map(Number);
const rounds = Number(process.env['ROUNDS'] ?? 7);
const calls = Number(process.env['CALLS'] ?? 10);

function board(setting: string): NativeBoardSession[] {
  const name = boardSegmentName(randomBytes(16).toString('hex'), `bench-${setting}`);
  process.env['WEBCCL_BOARD_SINGLE_COPY_BYTES'] = setting;
  const sessions = Array.from({ length: ranks }, (_, rank) => new NativeBoardSession(addon, name, rank, ranks, BOARD_BUFFER_BYTES, 60_000));
  delete process.env['WEBCCL_BOARD_SINGLE_COPY_BYTES'];
  return sessions;
}

const boards = { single: board('1'), lanes: board('off') };
let stamp = 1;

/** `count` calls of `bytes` (allgather: the whole output) on `sessions`: wall and CPU µs per call. */
async function time(sessions: NativeBoardSession[], views: Uint8Array[], count: number): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const s = stamp++;
    await Promise.all(sessions.map(async (session, rank) => {
      const call = session.forCall(s);
      try {
        await call.run(views[rank]!, { collective: kind, dtype: 'float32', root: 0 });
      } finally {
        call.done();
      }
    }));
  }
  const wall = Number(process.hrtime.bigint() - started) / 1000 / count;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / count };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const fmt = (value: number) => value.toFixed(value < 10 ? 2 : 0);

console.log(`# ${kind}, ${ranks} ranks in one process, ${rounds} rounds of ${calls} calls, single copy and lanes alternated; load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`);
console.log('# size: wall µs/call single | lanes; cpu µs/call single | lanes; per-round ratio single/lanes wall, cpu (min median max)');
for (const bytes of sizes) {
  const views = Array.from({ length: ranks }, () => new Uint8Array(bytes).fill(1));
  await time(boards.single, views, 2);
  await time(boards.lanes, views, 2);
  const runs = { single: [] as { wall: number; cpu: number }[], lanes: [] as { wall: number; cpu: number }[] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['single', 'lanes'] as const) : (['lanes', 'single'] as const);
    for (const path of order) runs[path].push(await time(boards[path], views, calls));
  }
  const ratio = (field: 'wall' | 'cpu') => {
    const r = runs.single.map((run, i) => run[field] / runs.lanes[i]![field]).sort((a, b) => a - b);
    return `${r[0]!.toFixed(2)} ${median(r).toFixed(2)} ${r[r.length - 1]!.toFixed(2)}`;
  };
  const pick = (path: 'single' | 'lanes', field: 'wall' | 'cpu') => fmt(median(runs[path].map((run) => run[field])));
  console.log(`${String(bytes).padStart(9)}: wall ${pick('single', 'wall')} | ${pick('lanes', 'wall')}; cpu ${pick('single', 'cpu')} | ${pick('lanes', 'cpu')}; ratio wall ${ratio('wall')}, cpu ${ratio('cpu')}`);
}
const counters = addon.boardCounters?.();
console.log(`# single-copy calls: ${counters?.singleCopyCalls}`);
for (const sessions of Object.values(boards)) for (const session of sessions) session.close();
