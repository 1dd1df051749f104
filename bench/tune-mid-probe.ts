// Why calibration's mid-size points and the sweep's calls of the same schedule and size differ
// (tcp at 2 ranks: calibration's ring 256 KiB point 2-4x the sweep's per byte; docs/PERFORMANCE.md
// tune13, tune15): the same calls timed in the two contexts on one warmed world, in turns.
//   mix:    calibration's rounds (lib/tune/calibrate.ts midSamples): every schedule at every mid
//           size in each round, blocks of 3 calls, each rank timing its own stream from its
//           first call's end; the fastest rank's figure.
//   one:    the same blocks, of the probed size and schedule only.
//   sweep:  bench/tune-sweep.ts's block: a lead call, then K+1 calls on every rank, timed from the
//           moment every rank has ended the first (K calls).
// Prints each mode's quartiles (µs a call) for each probed (schedule, size).
//   node --import ./test/register.mjs bench/tune-mid-probe.ts tcp 2 [rounds=16] [K=4]
import { Communicator, getUniqueId } from '../lib/index.node.js';
import { CURVE_BYTES } from '../lib/tune/calibrate.js';

const [transport = 'tcp', ranksArg = '2', roundsArg = '16', k = '4'] = process.argv.slice(2);
const ranks = Number(ranksArg);
const rounds = Number(roundsArg);
const calls = Number(k);
const id = await getUniqueId({ transport });
const comms = await Promise.all(Array.from({ length: ranks }, (_, rank) => Communicator.init({ id, rank, size: ranks })));
const buffers = new Map<number, Float32Array[]>();
const dataOf = (bytes: number) => buffers.get(bytes) ?? buffers.set(bytes, comms.map(() => new Float32Array(bytes / 4))).get(bytes)!;
const run = (algorithm: string, bytes: number) => (comm: Communicator, r: number) => comm.allReduce(dataOf(bytes)[r]!, dataOf(bytes)[r]!, bytes / 4, 'float32', 'sum', { algorithm });

/** Calibration's block of 3 on every rank at once, each rank timing from its own first call's end: the fastest rank's µs a call. */
async function calBlock(algorithm: string, bytes: number, block = 3): Promise<number> {
  for (const d of dataOf(bytes)) d.fill(0);
  const own = await Promise.all(comms.map(async (comm, r) => {
    let since = performance.now();
    for (let i = 0; i < block; i++) {
      await run(algorithm, bytes)(comm, r);
      if (i === 0) since = performance.now();
    }
    return ((performance.now() - since) * 1000) / (block - 1);
  }));
  return Math.min(...own);
}

/** The sweep's block: µs a call. */
async function sweepBlock(algorithm: string, bytes: number): Promise<number> {
  await Promise.all(comms.map(run(algorithm, bytes)));
  let t0 = performance.now();
  let first = comms.length;
  await Promise.all(comms.map(async (comm, r) => {
    for (let i = 0; i <= calls; i++) {
      await run(algorithm, bytes)(comm, r);
      if (i === 0 && --first === 0) t0 = performance.now();
    }
  }));
  return ((performance.now() - t0) * 1000) / calls;
}

const quartiles = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return `p25 ${s[Math.floor((s.length - 1) / 4)]!.toFixed(0)} med ${s[Math.floor(s.length / 2)]!.toFixed(0)} p75 ${s[Math.floor((3 * s.length) / 4)]!.toFixed(0)}`;
};

const mid = CURVE_BYTES.flatMap((bytes) => ['ring', 'tree'].map((algorithm) => ({ algorithm, bytes })));
// Warm every size once (the sweep warms its worlds; calibration runs untimed rounds).
for (let i = 0; i < 2; i++) for (const m of mid) await calBlock(m.algorithm, m.bytes);
const figures = new Map<string, number[]>();
const note = (key: string, us: number) => figures.set(key, [...(figures.get(key) ?? []), us]);
for (let round = 0; round < rounds; round++) {
  // The three modes in turn, each round starting with the next, so that the host's phases fall on all alike.
  const modes = ['mix', 'one', 'sweep'];
  for (const mode of modes.map((_, i) => modes[(i + round) % modes.length]!)) {
    if (mode === 'mix') {
      const first = round % mid.length;
      for (const m of mid.map((_, i) => mid[(i + first) % mid.length]!)) note(`mix   ${m.algorithm} ${m.bytes}`, await calBlock(m.algorithm, m.bytes));
    } else {
      for (const m of mid) note(`${mode.padEnd(5)} ${m.algorithm} ${m.bytes}`, mode === 'one' ? await calBlock(m.algorithm, m.bytes) : await sweepBlock(m.algorithm, m.bytes));
    }
  }
}
for (const [key, us] of [...figures].sort((a, b) => a[0].split(' ').slice(-2).join(' ').localeCompare(b[0].split(' ').slice(-2).join(' ')))) console.log(`${transport} np${ranks} ${key.padEnd(24)} ${quartiles(us)} us`);
await Promise.all(comms.map((c) => c.destroy()));
