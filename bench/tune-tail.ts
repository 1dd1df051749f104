// The spread of one allreduce's time on one world: N calls of one schedule, each timed alone
// (every rank's call started together, the last to finish stops the clock) after W untimed,
// as quantiles and counts per band. The cost model predicts a typical call; on a loaded host
// single calls wait for time slices, and how often they do sets how far a median of a few
// rounds (bench/tune-sweep.ts) moves between runs.
// A fresh world's first calls are slower than later ones (shm faults its rings' pages in on
// the first pass through them): compare W = 5 with W = 100.
//   node --import ./test/register.mjs bench/tune-tail.ts tcp 2 ring 8 [calls=200] [W=20]
import { Communicator, getUniqueId } from '../lib/index.node.js';

const [transport = 'inproc', ranksArg = '2', algorithm = 'ring', bytesArg = '8', callsArg = '200', warmArg = '20'] = process.argv.slice(2);
const [ranks, bytes, calls, untimed] = [Number(ranksArg), Number(bytesArg), Number(callsArg), Number(warmArg)];
const id = await getUniqueId({ transport });
const comms = await Promise.all(Array.from({ length: ranks }, (_, rank) => Communicator.init({ id, rank, size: ranks })));
const count = Math.max(1, Math.floor(bytes / 4));
const buffers = comms.map(() => new Float32Array(count));
const run = (comm: Communicator, r: number) => comm.allReduce(buffers[r]!, buffers[r]!, count, 'float32', 'sum', { algorithm });
for (let i = 0; i < untimed; i++) await Promise.all(comms.map(run));
const us: number[] = [];
for (let i = 0; i < calls; i++) {
  const started = performance.now();
  await Promise.all(comms.map(run));
  us.push((performance.now() - started) * 1000);
}
us.sort((a, b) => a - b);
const q = (p: number) => us[Math.floor(p * (us.length - 1))]!.toFixed(0);
const bands = [0, 500, 1000, 2000, 4000, Infinity];
const counts = bands.slice(0, -1).map((lo, i) => us.filter((t) => t >= lo && t < bands[i + 1]!).length);
console.log(`${transport}, ${ranks} ranks, ${algorithm}, ${bytes} B, ${calls} calls after ${untimed}: p10 ${q(0.1)} p25 ${q(0.25)} p50 ${q(0.5)} p75 ${q(0.75)} p90 ${q(0.9)} us; under 0.5 ms ${counts[0]}, 0.5-1 ${counts[1]}, 1-2 ${counts[2]}, 2-4 ${counts[3]}, over 4 ms ${counts[4]}`);
await Promise.all(comms.map((c) => c.destroy()));
