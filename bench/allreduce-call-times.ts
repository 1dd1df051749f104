// Per-call wall and CPU times of one allreduce size between two ranks, for several algorithms
// in alternating blocks (so that load changes hit them alike): p10/p50/p90 of each, rank 0's,
// and per call its voluntary context switches, minor page faults and the shm doorbell counts
// (what a change costs even where the scheduler hides it in the wall times).
//   ALGOS=ring,tree BYTES=1048576 BLOCKS=10 CALLS=20 WEBCCL_TRANSPORT=shm node --import ./test/register.mjs bench/allreduce-call-times.ts
import { Communicator } from '../lib/index.node.js';
import { loadNative } from '../lib/native/load.js';
import { runAsTwoRanks } from './two-ranks.js';

await runAsTwoRanks(async () => {
  const comm = await Communicator.fromEnv();
  const count = Number(process.env['BYTES'] ?? 1 << 20) / 4;
  const algos = (process.env['ALGOS'] ?? 'ring,tree').split(',') as ('ring' | 'tree')[];
  const blocks = Number(process.env['BLOCKS'] ?? 10);
  const calls = Number(process.env['CALLS'] ?? 20);
  const send = new Float32Array(count).fill(comm.rank + 1);
  const recv = new Float32Array(count);
  for (const algorithm of algos) for (let i = 0; i < 50; i++) await comm.allReduce(send, recv, count, 'float32', 'sum', { algorithm });
  const loaded = loadNative();
  const counters = () => ('addon' in loaded ? loaded.addon.shmCounters?.() : undefined) ?? { peerEventfd: 0, selfEventfd: 0, futexWakes: 0, prepareDrains: 0 };
  const events = new Map(algos.map((a) => [a, { switches: 0, faults: 0, futexWakes: 0, peerEventfd: 0, selfEventfd: 0, prepareDrains: 0 }]));
  const wall = new Map(algos.map((a) => [a, [] as number[]]));
  const cpu = new Map(algos.map((a) => [a, [] as number[]]));
  for (let b = 0; b < blocks; b++) {
    for (const algorithm of algos) {
      await comm.barrier();
      for (let i = 0; i < calls; i++) {
        const c0 = process.cpuUsage();
        const r0 = process.resourceUsage();
        const k0 = counters();
        const started = performance.now();
        await comm.allReduce(send, recv, count, 'float32', 'sum', { algorithm });
        wall.get(algorithm)!.push((performance.now() - started) * 1000);
        const c = process.cpuUsage(c0);
        cpu.get(algorithm)!.push(c.user + c.system);
        const r1 = process.resourceUsage();
        const k1 = counters();
        const e = events.get(algorithm)!;
        e.switches += r1.voluntaryContextSwitches - r0.voluntaryContextSwitches;
        e.faults += r1.minorPageFault - r0.minorPageFault;
        for (const k of ['futexWakes', 'peerEventfd', 'selfEventfd', 'prepareDrains'] as const) e[k] += k1[k] - k0[k];
      }
    }
  }
  const pct = (xs: number[]) => {
    const s = [...xs].sort((x, y) => x - y);
    return [0.1, 0.5, 0.9].map((q) => s[Math.floor(s.length * q)]!.toFixed(0)).join('/');
  };
  if (comm.rank === 0) {
    for (const a of algos) console.log(`${4 * count} B ${a}: wall p10/p50/p90 ${pct(wall.get(a)!)} us, cpu ${pct(cpu.get(a)!)} us (${wall.get(a)!.length} calls); per call: ${Object.entries(events.get(a)!).map(([k, v]) => `${k} ${(v / wall.get(a)!.length).toFixed(2)}`).join(', ')}`);
  }
  await comm.destroy();
});
