// Per-call times of one allreduce size between two ranks, as percentiles: on a loaded host the
// mean of thousands of calls is ruled by the few calls whose rank lost its core for
// milliseconds, the 10th and 50th percentiles by what a call costs. Rank 0's times after 1000
// warm-up calls. WEBCCL_ALGO picks the algorithm (WEBCCL_ALGO=board|direct to set them side by side).
//   WEBCCL_TRANSPORT=shm COUNT=2 CALLS=5000 node --import ./test/register.mjs bench/allreduce-percentiles.ts
import { Communicator } from '../lib/index.node.js';
import { runAsTwoRanks } from './two-ranks.js';

await runAsTwoRanks(async () => {
  const comm = await Communicator.fromEnv();
  const count = Number(process.env['COUNT'] ?? 2);
  const calls = Number(process.env['CALLS'] ?? 5000);
  const send = new Float32Array(count).fill(comm.rank + 1);
  const recv = new Float32Array(count);
  for (let i = 0; i < 1000; i++) await comm.allReduce(send, recv, count, 'float32', 'sum');
  await comm.barrier();
  const times = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await comm.allReduce(send, recv, count, 'float32', 'sum');
    times[i] = (performance.now() - started) * 1000;
  }
  const mean = times.reduce((sum, t) => sum + t, 0) / calls;
  times.sort();
  const at = (q: number) => times[Math.floor(calls * q)]!.toFixed(1);
  if (comm.rank === 0) console.log(`${4 * count} B allreduce on ${comm.transport.description}: p10 ${at(0.1)} p50 ${at(0.5)} p90 ${at(0.9)} mean ${mean.toFixed(1)} us per call`);
  await comm.destroy();
});
