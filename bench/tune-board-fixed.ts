// A schedule's few-byte time per call in a stream (the board's by default), timed as calibration
// timed the few-byte runs (blocks of 3, the first untimed, interleaved round by round with the
// other schedules' blocks) against blocks of that schedule alone: which context a fixed cost
// measured by calibration comes from. shm ranks in one process, as bench/tune-sweep.ts runs them.
//   node --import ./test/register.mjs bench/tune-board-fixed.ts [ranks=2] [rounds=12] [bytes=8] [algorithm=board]
import { Communicator, getUniqueId } from '../lib/index.node.js';

const [ranks, rounds, bytes] = [Number(process.argv[2] ?? 2), Number(process.argv[3] ?? 12), Number(process.argv[4] ?? 8)];
const timed = process.argv[5] ?? 'board';
const others = ['ring', 'tree', 'direct', 'board'].filter((name) => name !== timed);
const id = await getUniqueId({ transport: 'shm' });
const comms = await Promise.all(Array.from({ length: ranks }, (_, rank) => Communicator.init({ id, rank, size: ranks })));
const data = comms.map(() => new Float32Array(Math.max(1, bytes / 4)));

/** One block of `calls` calls back to back on every rank: µs per call after the first (the sweep's and calibration's basis). */
async function block(algorithm: string, calls: number): Promise<number> {
  let first = comms.length;
  let t0 = performance.now();
  await Promise.all(comms.map(async (comm, r) => {
    for (let i = 0; i < calls; i++) {
      await comm.allReduce(data[r]!, data[r]!, data[r]!.length, 'float32', 'sum', { algorithm });
      if (i === 0 && --first === 0) t0 = performance.now();
    }
  }));
  return ((performance.now() - t0) * 1000) / (calls - 1);
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const q1 = (v: number[]) => [...v].sort((a, b) => a - b)[(v.length - 1) >> 2]!;
const show = (name: string, v: number[]) => console.log(`${name.padEnd(34)} median ${median(v).toFixed(0).padStart(6)} µs, lower quartile ${q1(v).toFixed(0).padStart(6)}, blocks ${v.map((x) => x.toFixed(0)).join(' ')}`);

for (let pass = 0; pass < 2; pass++) {
  const mixed: number[] = [];
  const alone3: number[] = [];
  const alone5: number[] = [];
  const alone9: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const other of others) await block(other, 3);
    mixed.push(await block(timed, 3));
  }
  for (let round = 0; round < rounds; round++) alone3.push(await block(timed, 3));
  for (let round = 0; round < rounds; round++) alone5.push(await block(timed, 5));
  for (let round = 0; round < rounds; round++) alone9.push(await block(timed, 9));
  show(`pass ${pass}: ${timed} among others, 3`, mixed);
  show(`pass ${pass}: ${timed} alone, blocks of 3`, alone3);
  show(`pass ${pass}: ${timed} alone, blocks of 5`, alone5);
  show(`pass ${pass}: ${timed} alone, blocks of 9`, alone9);
}
await Promise.all(comms.map((c) => c.destroy()));
