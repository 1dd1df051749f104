// How far a warm process's few-byte calls drift with what it ran before: streams of 8-byte
// allreduces of one schedule timed fresh (after a warm-up), again after a mix of every size and
// schedule in and out of place, and again after a few thousand more 8-byte calls. A calibration
// and a sweep minutes apart stand in this drift (docs/PERFORMANCE.md, day36: 4 socket ranks on 2
// vCPUs, 1.1-2.5x within one process, 1.2-1.9x between two launches a minute apart).
//   NP=4 ALGO=direct WEBCCL_TRANSPORT=websocket node --import ./test/register.mjs bench/tune-drift.ts
import { Communicator } from '../lib/index.node.js';
import { launchRanks } from '../bin/launch/launch.js';
import { hostRendezvous } from '../bin/launch/rendezvous-env.js';

if (process.env['RANK'] === undefined) {
  const np = Number(process.env['NP'] ?? 4);
  const result = await launchRanks({ np, command: process.execPath, args: [...process.execArgv, ...process.argv.slice(1)], ...await hostRendezvous() });
  process.exit(result.exitCode);
}

const comm = await Communicator.fromEnv();
const algorithm = process.env['ALGO'] ?? 'direct';
const STREAM_CALLS = 300;
const MIX_BYTES = [8, 64, 512, 4096, 32768, 262144, 2097152];
const MIX_ROUNDS = 8;
const MIX_ALGORITHMS = ['auto', 'ring', 'tree', 'direct', 'mesh'];
const small = new Float32Array(2);
const smallOut = new Float32Array(2);

const eightBytes = (outOfPlace: boolean) => comm.allReduce(small, outOfPlace ? smallOut : small, 2, 'float32', 'sum', { algorithm });

/** Microseconds per call of STREAM_CALLS calls back to back, after a barrier and one untimed call (the same count on every rank). */
async function stream(outOfPlace: boolean): Promise<number> {
  await comm.barrier();
  await eightBytes(outOfPlace);
  const started = performance.now();
  for (let call = 0; call < STREAM_CALLS; call++) await eightBytes(outOfPlace);
  return ((performance.now() - started) * 1000) / STREAM_CALLS;
}

/** In place twice, then out of place. */
async function streams(): Promise<string> {
  const times = [await stream(false), await stream(false), await stream(true)];
  return times.map((us) => us.toFixed(0)).join(' ');
}

async function untimed(calls: number): Promise<void> {
  for (let call = 0; call < calls; call++) await eightBytes(false);
}

async function mixOfShapes(): Promise<number> {
  const buffers = MIX_BYTES.map((bytes) => [new Float32Array(bytes / 4), new Float32Array(bytes / 4)] as const);
  const started = performance.now();
  for (let round = 0; round < MIX_ROUNDS; round++) {
    for (const [i, bytes] of MIX_BYTES.entries()) {
      for (const name of MIX_ALGORITHMS) {
        for (const outOfPlace of [true, false]) {
          const [send, receive] = buffers[i]!;
          await comm.allReduce(send, outOfPlace ? receive : send, bytes / 4, 'float32', 'sum', name === 'auto' ? {} : { algorithm: name });
        }
      }
    }
  }
  return performance.now() - started;
}

await untimed(1000);
const fresh = await streams();
const mixMs = await mixOfShapes();
const afterMix = await streams();
await untimed(2000);
const settled = await streams();
if (comm.rank === 0) {
  console.log(`${comm.transport.description}, ${comm.size} ranks, ${algorithm}, 8 B, µs per call (in place, in place, out of place):`);
  console.log(`  fresh (after 1000 untimed calls): ${fresh}`);
  console.log(`  after ${MIX_ROUNDS * MIX_BYTES.length * MIX_ALGORITHMS.length * 2} calls of every size and schedule (${mixMs.toFixed(0)} ms): ${afterMix}`);
  console.log(`  after 2000 more 8-byte calls: ${settled}`);
}
await comm.destroy();
