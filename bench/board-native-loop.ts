// The native floor of a small board allreduce: RANKS processes (this one and forks of it) call
// the addon's Board.run directly in a loop, with no communicator, plan, queue or promise per
// call (a call handed to the board's thread is awaited through its completion, which a spin
// long enough makes rare). Per call µs on rank 0: p10 / p50 / mean over CALLS calls after WARMUP,
// and how many were handed over. Against bench/board-js-cost.ts (the JavaScript alone) and the
// whole call (bench/allreduce-percentiles.ts) it splits a call's time. BIND=1 puts rank r on
// CPU r mod the CPUs (as the launcher binds ranks that fit; unbound, two ranks may share a core).
// Then "back to back": BLOCKS blocks of 1000 calls made in a plain loop (no clock read, async
// function or await per call unless one is handed over), p10 / p50 of the blocks' µs per call:
// the native call and its N-API crossing alone, to set beside native/tools/line-lockstep.c's floor.
//   RANKS=2 CALLS=20000 BIND=1 node --import ./test/register.mjs bench/board-native-loop.ts
import { fork } from 'node:child_process';
import { runCode } from '../lib/native/board.js';
import { loadNative } from '../lib/native/load.js';

const ranks = Number(process.env['RANKS'] ?? 2);
const calls = Number(process.env['CALLS'] ?? 20000);
const warmup = Number(process.env['WARMUP'] ?? 2000);
const spinNs = Number(process.env['SPIN_NS'] ?? 200_000);
const rank = Number(process.env['BOARD_LOOP_RANK'] ?? 0);
const name = process.env['BOARD_LOOP_NAME'] ?? `/webccl-board-loop-${process.pid}`;

const loaded = loadNative();
if (!('addon' in loaded) || loaded.addon.Board === undefined) throw new Error('no native board');
// The CPUs rank 0 may use, before it binds itself (its forks would inherit only its own).
const cpus = process.env['BOARD_LOOP_CPUS'] ?? loaded.addon.threadAffinity!().join(',');
if (process.env['BIND'] === '1') {
  // Before the board exists, so that its thread inherits the CPU too.
  const list = cpus.split(',').map(Number);
  loaded.addon.setThreadAffinity!([list[rank % list.length]!]);
}
const completions = new Map<number, (error: string | null) => void>();
const board = new loaded.addon.Board(name, rank, ranks, 1 << 20, 30_000, (id, error) => completions.get(id)!(error), 0, spinNs);
const children = rank === 0
  ? Array.from({ length: ranks - 1 }, (_, i) => fork(process.argv[1]!, [], { execArgv: process.execArgv, env: { ...process.env, BOARD_LOOP_RANK: String(i + 1), BOARD_LOOP_NAME: name, BOARD_LOOP_CPUS: cpus }, stdio: 'inherit' }))
  : [];
while (board.singleCopy() === null) await new Promise((resolve) => setTimeout(resolve, 1));

const values = new Float32Array(2);
const code = runCode({ collective: 'allReduce', dtype: 'float32', op: 'sum' });
let handed = 0;
let id = 0;
async function call(stamp: number): Promise<void> {
  values[0] = rank;
  values[1] = 1;
  if (board.run(++id, values, code, stamp)) return;
  handed++;
  const error = await new Promise<string | null>((resolve) => completions.set(id, resolve));
  if (error !== null) throw new Error(error);
}
const times = new Float64Array(calls);
for (let i = 0; i < warmup; i++) await call(i);
handed = 0;
const started = process.hrtime.bigint();
for (let i = 0; i < calls; i++) {
  const at = process.hrtime.bigint();
  await call(warmup + i);
  times[i] = Number(process.hrtime.bigint() - at) / 1000;
}
const mean = Number(process.hrtime.bigint() - started) / 1000 / calls;
const blocks = new Float64Array(Number(process.env['BLOCKS'] ?? 40));
let stamp = warmup + calls;
for (let b = 0; b < blocks.length; b++) {
  const at = process.hrtime.bigint();
  for (let i = 0; i < 1000; i++) {
    values[0] = rank;
    values[1] = 1;
    if (!board.run(++id, values, code, stamp++)) {
      handed++;
      const error = await new Promise<string | null>((resolve) => completions.set(id, resolve));
      if (error !== null) throw new Error(error);
    }
  }
  blocks[b] = Number(process.hrtime.bigint() - at) / 1e6;
}
if (values[1] !== ranks || values[0] !== (ranks * (ranks - 1)) / 2) throw new Error(`wrong result ${values[0]}, ${values[1]}`);
board.close();
if (rank === 0) {
  times.sort();
  const at = (q: number) => times[Math.min(calls - 1, Math.floor(calls * q))]!.toFixed(2);
  let slow = 0;
  for (const t of times) if (t > 10) slow += t;
  console.log(`${ranks} ranks, native Board.run 8 B allreduce: p10 ${at(0.1)} p50 ${at(0.5)} p90 ${at(0.9)} p99 ${at(0.99)} mean ${mean.toFixed(2)} us; `
    + `calls over 10 us: ${(slow / calls).toFixed(2)} us of the mean; ${handed} of ${calls + blocks.length * 1000} handed over`);
  blocks.sort();
  console.log(`  back to back, ${blocks.length} blocks of 1000 calls: p10 ${blocks[Math.floor(blocks.length / 10)]!.toFixed(3)} p50 ${blocks[Math.floor(blocks.length / 2)]!.toFixed(3)} us per call`);
  await Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve))));
}
