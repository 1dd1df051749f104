// Median time, busbw and CPU time per call of in-place float32 sum allreduces (rank 0's view),
// for loaded machines where busbw alone is noise: CPU time per call (the whole process, progress
// threads included) and context switches per call show what a change costs even when the
// scheduler hides it. Every call is checked against the expected sum.
//   WEBCCL_TRANSPORT=shm SIZES=1048576,16777216 ITERS=40 node --import ./test/register.mjs bin/webccl-run.ts -np 2 bench/allreduce-cpu.ts
import { Communicator } from '../lib/index.node.js';
import { loadNative } from '../lib/native/load.js';

const comm = await Communicator.fromEnv();
const sizes = (process.env['SIZES'] ?? '1048576,2097152,4194304,16777216').split(',').map(Number);
const iters = Number(process.env['ITERS'] ?? 40);
const lines: string[] = [];
// The shm provider's doorbell syscalls (this process): load-independent, unlike the times.
const loaded = loadNative();
const shmCounters = 'addon' in loaded ? loaded.addon.shmCounters : undefined;
const doorbells = () => shmCounters?.() ?? { peerEventfd: 0, selfEventfd: 0, futexWakes: 0, prepareDrains: 0 };
for (const bytes of sizes) {
  const count = bytes / 4;
  const data = new Float32Array(count);
  for (let i = 0; i < 3; i++) await comm.allReduce(data.fill(comm.rank + 1), data, count, 'float32', 'sum');
  const times: number[] = [];
  let cpuUs = 0;
  let switches = 0;
  const bellsBefore = doorbells();
  for (let i = 0; i < iters; i++) {
    data.fill(comm.rank + 1);
    await comm.barrier();
    const before = process.resourceUsage();
    const started = performance.now();
    await comm.allReduce(data, data, count, 'float32', 'sum');
    times.push(performance.now() - started);
    const after = process.resourceUsage();
    cpuUs += after.userCPUTime - before.userCPUTime + after.systemCPUTime - before.systemCPUTime;
    switches += after.voluntaryContextSwitches - before.voluntaryContextSwitches + after.involuntaryContextSwitches - before.involuntaryContextSwitches;
  }
  const bellsAfter = doorbells();
  const perCall = (field: keyof typeof bellsAfter) => ((bellsAfter[field] - bellsBefore[field]) / iters).toFixed(1);
  const expected = (comm.size * (comm.size + 1)) / 2;
  if (data[0] !== expected || data[count - 1] !== expected) throw new Error(`${bytes} bytes: got ${data[0]}..${data[count - 1]}, expected ${expected}`);
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const busbw = (ms: number) => ((bytes * 2 * (comm.size - 1)) / comm.size / (ms * 1e-3) / 1e9).toFixed(3);
  lines.push(`${bytes} B: median ${median.toFixed(2)} ms (busbw ${busbw(median)} GB/s), min ${times[0]!.toFixed(2)} ms (${busbw(times[0]!)}), `
    + `CPU ${(cpuUs / iters / 1000).toFixed(2)} ms/call, ${(switches / iters).toFixed(0)} context switches/call`
    + (shmCounters ? `, eventfd writes/call ${perCall('peerEventfd')} to peers + ${perCall('selfEventfd')} own, futex wakes/call ${perCall('futexWakes')}, drains before sleep/call ${perCall('prepareDrains')}` : ''));
}
if (comm.rank === 0) console.log(`# ${comm.transport.description}, ${comm.size} ranks, chunk ${comm.config.chunkBytes} B, ${iters} calls a size\n${lines.join('\n')}`);
await comm.destroy();
