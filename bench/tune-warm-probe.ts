// A fresh process's allreduces over time: one schedule at one size, called back to back for a few
// seconds, each 0.2 s's calls' quartiles (µs a call). Shows the code's warm-up (2 tcp ranks at
// 256 KiB: 700-1000 µs a call for the first 0.2 s, 250-400 from about the 500th call; flat with
// node --no-opt), which calibration's warmUp runs before it times anything (docs/PERFORMANCE.md,
// tune15). SLEEP=ms waits first; PRE=BYTESxCOUNT runs that many calls first (PREWORLD=T on another
// world of transport T, so only what the worlds share, the compiled code, is warmed).
//   node --import ./test/register.mjs bench/tune-warm-probe.ts [tcp] [2] [262144] [seconds=3] [ring]
import { Communicator, getUniqueId } from '../lib/index.node.js';

const [transport = 'tcp', ranksArg = '2', bytesArg = '262144', secondsArg = '3', algorithm = 'ring'] = process.argv.slice(2);
const ranks = Number(ranksArg);
const bytes = Number(bytesArg);

async function world(kind: string): Promise<Communicator[]> {
  const id = await getUniqueId({ transport: kind });
  return Promise.all(Array.from({ length: ranks }, (_, rank) => Communicator.init({ id, rank, size: ranks })));
}

/** One allreduce of `size` bytes on every rank of `comms`. */
async function call(comms: Communicator[], buffers: Float32Array[], size: number): Promise<void> {
  await Promise.all(comms.map((comm, r) => comm.allReduce(buffers[r]!, buffers[r]!, size / 4, 'float32', 'sum', { algorithm })));
}

const comms = await world(transport);
if (process.env['SLEEP']) await new Promise((resolve) => setTimeout(resolve, Number(process.env['SLEEP'])));
if (process.env['PRE']) {
  const [preBytes, preCalls] = process.env['PRE'].split('x').map(Number) as [number, number];
  const pre = process.env['PREWORLD'] ? await world(process.env['PREWORLD']) : comms;
  const buffers = pre.map(() => new Float32Array(preBytes / 4));
  for (let i = 0; i < preCalls; i++) await call(pre, buffers, preBytes);
  if (pre !== comms) await Promise.all(pre.map((comm) => comm.destroy()));
}
const buffers = comms.map(() => new Float32Array(bytes / 4));
const start = performance.now();
let bucket = 0;
let times: number[] = [];
while (performance.now() - start < Number(secondsArg) * 1000) {
  const t0 = performance.now();
  await call(comms, buffers, bytes);
  times.push((performance.now() - t0) * 1000);
  const now = Math.floor((performance.now() - start) / 200);
  if (now !== bucket) {
    const sorted = times.sort((a, b) => a - b);
    console.log(`${(bucket * 0.2).toFixed(1)} s: ${sorted.length} calls, p25 ${sorted[Math.floor(sorted.length / 4)]!.toFixed(0)} med ${sorted[sorted.length >> 1]!.toFixed(0)} us`);
    bucket = now;
    times = [];
  }
}
await Promise.all(comms.map((comm) => comm.destroy()));
