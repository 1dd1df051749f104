// The sweep's small direct exchanges on shm (bench/tune-sweep.ts) in the contexts they meet: the
// same blocks (a lead call, then one call and K more back to back, timed from the first's end,
// as the sweep times them) on one world alone, beside four more worlds that stay idle, and in
// turns with those worlds' blocks (OTHERS: their schedules, as the sweep's columns). Prints the
// blocks' quartiles, the process's CPU time over wall time and the shm doorbell counts per call
// (shmCounters): a phase where the host's other jobs hold a core shows as a time per call many
// times the rest at the same counts (docs/PERFORMANCE.md, tune13).
//   node --import ./test/register.mjs bench/tune-direct-probe.ts shm 2 [sizes=8K,32K,128K] [blocks=15] [K=4]
//   MODES=alone,five,turns OTHERS=ring,tree,board,ring
import { Communicator, getUniqueId } from '../lib/index.node.js';
import { loadNative } from '../lib/native/load.js';
import { parseBytes } from './perf/sizes.js';

const [transport = 'shm', ranksArg = '2', sizesArg = '8K,32K,128K', blocksArg = '15', k = '4'] = process.argv.slice(2);
const ranks = Number(ranksArg);
const sizes = sizesArg.split(',').map(parseBytes);
const blocks = Number(blocksArg);
const calls = Number(k);
const loaded = loadNative();
const counters = (): Record<string, number> => ('addon' in loaded ? loaded.addon.shmCounters?.() : undefined) ?? { peerEventfd: 0, selfEventfd: 0, futexWakes: 0, prepareDrains: 0 };
const snapshot = () => ({ counts: counters(), cpu: process.cpuUsage(), at: performance.now() });
function since(before: ReturnType<typeof snapshot>, calls: number): string {
  const now = snapshot();
  const cpuMs = (now.cpu.user + now.cpu.system - before.cpu.user - before.cpu.system) / 1000;
  return `cpu/wall ${(cpuMs / (now.at - before.at)).toFixed(2)}, per call: ${Object.keys(now.counts).map((key) => `${key} ${((now.counts[key]! - before.counts[key]!) / calls).toFixed(2)}`).join(' ')}`;
}

async function world(): Promise<Communicator[]> {
  const id = await getUniqueId({ transport });
  return Promise.all(Array.from({ length: ranks }, (_, rank) => Communicator.init({ id, rank, size: ranks })));
}

/** One block on `comms`: µs per call of the stream after its lead and first calls. */
async function block(comms: Communicator[], algorithm: string, bytes: number): Promise<number> {
  const count = bytes / 4;
  const buffers = comms.map(() => new Float32Array(count).fill(1));
  const run = (comm: Communicator, r: number) => comm.allReduce(buffers[r]!, buffers[r]!, count, 'float32', 'sum', { algorithm });
  await Promise.all(comms.map(run));
  let t0 = performance.now();
  let first = comms.length;
  await Promise.all(comms.map(async (comm, r) => {
    for (let i = 0; i <= calls; i++) {
      await run(comm, r);
      if (i === 0 && --first === 0) t0 = performance.now();
    }
  }));
  return ((performance.now() - t0) * 1000) / calls;
}

/** As the sweep warms its worlds (tune-sweep.ts warm): two 4 MiB direct exchanges, one 16 MiB ring. */
async function warm(comms: Communicator[]): Promise<void> {
  for (const [algorithm, bytes, n] of [['direct', 4 << 20, 2], ['ring', 16 << 20, 1]] as const) {
    const buffers = comms.map(() => new Float32Array(bytes / 4));
    for (let i = 0; i < n; i++) await Promise.all(comms.map((comm, r) => comm.allReduce(buffers[r]!, buffers[r]!, bytes / 4, 'float32', 'sum', { algorithm })));
  }
}

const quartiles = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return `p25 ${s[Math.floor(s.length / 4)]!.toFixed(0)} med ${s[Math.floor(s.length / 2)]!.toFixed(0)} p75 ${s[Math.floor((3 * s.length) / 4)]!.toFixed(0)} us`;
};
const direct = await world();
await warm(direct);
const modes = (process.env['MODES'] ?? 'alone,five,turns').split(',');
const otherSchedules = (process.env['OTHERS'] ?? 'ring,tree,ring,tree').split(',');
const others: Communicator[][] = [];
for (const mode of modes) {
  if (!['alone', 'five', 'turns'].includes(mode)) throw new Error(`MODES: ${mode} is not alone, five or turns`);
  if (mode !== 'alone' && others.length === 0) for (const _ of otherSchedules) { const comms = await world(); await warm(comms); others.push(comms); }
  for (const bytes of sizes) {
    const us: number[] = [];
    const before = snapshot();
    for (let b = 0; b < blocks; b++) {
      if (mode === 'turns') for (const [i, comms] of others.entries()) await block(comms, otherSchedules[i]!, bytes);
      us.push(await block(direct, 'direct', bytes));
    }
    const callsMade = blocks * (calls + 2) * (mode === 'turns' ? others.length + 1 : 1);
    console.log(`${transport} np${ranks} ${mode.padEnd(5)} direct ${String(bytes).padStart(7)} B: ${quartiles(us)}; ${since(before, callsMade)}`);
  }
}
for (const comm of [direct, ...others].flat()) await comm.destroy();
