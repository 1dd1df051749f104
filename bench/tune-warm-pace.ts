// How a fresh process's few-byte calls speed up as V8 tiers their code up: batches of B calls of
// each schedule calibration warms (ring, tree, direct) in turn, the mean time a call per batch,
// with the seconds since the first call. What lib/tune/calibrate/warm-up.ts's budget is sized by
// (docs/PERFORMANCE.md, day34: 4 ntcp ranks settle after some 1300 calls, about 3 s).
//   NP=4 B=32 BATCHES=16 WEBCCL_TRANSPORT=ntcp node --import ./test/register.mjs bench/tune-warm-pace.ts
import { Communicator } from '../lib/index.node.js';
import { launchRanks } from '../bin/launch/launch.js';
import { hostRendezvous } from '../bin/launch/rendezvous-env.js';

if (process.env['RANK'] === undefined) {
  const np = Number(process.env['NP'] ?? 4);
  const result = await launchRanks({ np, command: process.execPath, args: [...process.execArgv, ...process.argv.slice(1)], ...await hostRendezvous() });
  process.exit(result.exitCode);
}
const comm = await Communicator.fromEnv();
const schedules = ['ring', 'tree', 'direct'];
const batch = Number(process.env['B'] ?? 32);
const data = new Float32Array(2);
const started = performance.now();
const paces: string[] = [];
for (let b = 0; b < Number(process.env['BATCHES'] ?? 16); b++) {
  const since = performance.now();
  for (const algorithm of schedules) for (let i = 0; i < batch; i++) await comm.allReduce(data, data, 2, 'float32', 'sum', { algorithm });
  const now = performance.now();
  paces.push(`${((now - started) / 1000).toFixed(2)} s: ${((now - since) * 1000 / (schedules.length * batch)).toFixed(0)} us`);
}
if (comm.rank === 0) console.log(`${comm.size} ranks on ${comm.transport.description}, µs a call by batch of ${batch} of each schedule:\n${paces.join('\n')}`);
await comm.destroy();
