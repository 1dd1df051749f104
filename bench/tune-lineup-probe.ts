// Calibration's mid-size rounds (lib/tune/calibrate.ts midSamples: ring and tree at 64 KiB,
// 256 KiB and 1 MiB, the direct exchange at its curve's sizes, blocks of 3 calls with the first
// untimed, every run in each round, each round starting with the next) timed two ways in turn on
// one world: each rank going on to its next block as soon as its own ended (calibration until
// tune17), and each block after a 4-byte maxAll that lines the ranks up (tune17). Prints each
// run's lower quartile, the fastest rank's, per pass: on 2 tcp ranks the streamed direct
// exchanges locked into a slow mode for whole passes (docs/PERFORMANCE.md, tune17).
//   node --import ./test/register.mjs bench/tune-lineup-probe.ts tcp 2 [rounds=12] [passes=3]
import { Communicator, getUniqueId } from '../lib/index.node.js';
import { CURVE_BYTES, directCurveBytes } from '../lib/tune/calibrate.js';

const [transport = 'tcp', ranksArg = '2', roundsArg = '12', passesArg = '3'] = process.argv.slice(2);
const ranks = Number(ranksArg);
const rounds = Number(roundsArg);
const id = await getUniqueId({ transport });
const comms = await Promise.all(Array.from({ length: ranks }, (_, rank) => Communicator.init({ id, rank, size: ranks })));
const runs = [
  ...CURVE_BYTES.flatMap((bytes) => ['ring', 'tree'].map((algorithm) => ({ algorithm, bytes }))),
  ...directCurveBytes({ size: ranks, chunkBytes: comms[0]!.config.chunkBytes }).map((bytes) => ({ algorithm: 'direct', bytes })),
];
const lowerQuartile = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 4)]!;

/** Every rank's own loop over the rounds (2 untimed first), as calibration's runTimes: each run's lower quartile, the fastest rank's, µs a call. */
async function pass(lineUp: boolean): Promise<number[]> {
  const own = await Promise.all(comms.map(async (comm) => {
    const data = new Map(runs.map((run) => [run.bytes, new Float32Array(run.bytes / 4)]));
    const marker = new Float32Array(1);
    const times = runs.map(() => [] as number[]);
    for (let round = -2; round < rounds; round++) {
      const first = Math.max(0, round) % runs.length;
      for (const i of runs.map((_, k) => (k + first) % runs.length)) {
        const { algorithm, bytes } = runs[i]!;
        const buffer = data.get(bytes)!.fill(0);
        if (lineUp) await comm.allReduce(marker, marker, 1, 'float32', 'max');
        let since = performance.now();
        for (let call = 0; call < 3; call++) {
          await comm.allReduce(buffer, buffer, buffer.length, 'float32', 'sum', { algorithm });
          if (call === 0) since = performance.now();
        }
        if (round >= 0) times[i]!.push(((performance.now() - since) * 1000) / 2);
      }
    }
    return times.map(lowerQuartile);
  }));
  return runs.map((_, i) => Math.min(...own.map((figures) => figures[i]!)));
}

// The few-byte warm-up calibration runs first (its WARM_CALLS).
for (let i = 0; i < 300; i++) for (const algorithm of ['ring', 'tree', 'direct']) await Promise.all(comms.map((comm) => comm.allReduce(new Float32Array(2), new Float32Array(2), 2, 'float32', 'sum', { algorithm })));
const figures = new Map<string, number[]>();
for (let p = 0; p < Number(passesArg); p++) {
  for (const lineUp of [false, true]) {
    const us = await pass(lineUp);
    runs.forEach((run, i) => { const key = `${run.algorithm.padEnd(6)} ${String(run.bytes >> 10).padStart(5)} KiB ${lineUp ? 'lined up' : 'streamed'}`; figures.set(key, [...(figures.get(key) ?? []), us[i]!]); });
  }
}
for (const [key, us] of figures) console.log(`${transport} np${ranks} ${key}: p25 per pass ${us.map((u) => u.toFixed(0)).join(' ')} µs`);
await Promise.all(comms.map((comm) => comm.destroy()));
