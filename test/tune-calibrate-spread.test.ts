// Calibration where the ranks' times spread: 8 ranks on 2 cores each wait for a core now and
// then, so each leaves a call at its own moment, a different rank late each call. webccl-perf's
// time (bench/perf/sweep.ts: a warm-up call, a barrier, 20 calls, each rank's time over them,
// averaged over the ranks) is then the stream's period: the call's own time plus the wait for
// the latest rank to join. Each rank's figure of a run (a block's stream, a larger call's own
// time) is that period plus its own lateness at the start less its lateness at the end; the
// fastest rank's, which calibration took until session 17, is the one whose lateness fell most,
// under the period (by 0.2-0.5 of the spread here), and the model fitted to it priced every
// call under what webccl-perf measures. The median rank's is the period.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { calibrate, type CalibrationComm } from '../lib/tune/calibrate.js';
import { predictSeconds } from '../lib/tune/model.js';
import { DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';
import { SimRanks, simCall as call } from './helpers/sim-ranks.js';

const truth: CostParams = { ...DEFAULT_COST_PARAMS, call: 30e-6, alpha: 80e-6, overhead: 20e-6, beta: 2e-9, gamma: 0 };
const RANKS = 8;

/** Milliseconds each rank leaves each call late: up to `spreadMs`, by a hash of the two (the same in every run). */
function scattered(spreadMs: number): (rank: number, call: number) => number {
  return (rank, call) => {
    const x = Math.sin(rank * 12.9898 + call * 78.233) * 43758.5453;
    return spreadMs * (x - Math.floor(x));
  };
}

/** webccl-perf's milliseconds per call of `algorithm` at `bytes` in `world`: one warm-up call, a barrier, `iters` calls, each rank's time over them, the mean over ranks. */
async function perfMs(world: SimRanks, algorithm: string, bytes: number, iters = 20): Promise<number> {
  const data = new Float32Array(Math.max(1, bytes / 4));
  const times = await world.onClock(async (comm: CalibrationComm) => {
    await comm.allReduce(data, algorithm);
    await comm.maxAll(new Float32Array(1));
    const started = performance.now();
    for (let i = 0; i < iters; i++) await comm.allReduce(data, algorithm);
    return (performance.now() - started) / iters;
  });
  return times.reduce((sum, t) => sum + t, 0) / times.length;
}

test('8 ranks leaving each call up to 2 ms late, a different one each call: the fitted model prices what webccl-perf measures, 8 B to 16 MiB, within 10%', async () => {
  const world = new SimRanks(RANKS, truth, { leaveMs: scattered(2) });
  const { params } = (await world.onClock((comm) => calibrate(comm)))[0]!;
  const misses: string[] = [];
  for (const algorithm of ['ring', 'tree']) {
    for (const bytes of [8, 64 << 10, 1 << 20, 4 << 20, 16 << 20]) {
      const measured = await perfMs(world, algorithm, bytes);
      const predicted = 1e3 * predictSeconds(algorithm, call(bytes, RANKS), params)!;
      const error = predicted / measured - 1;
      if (Math.abs(error) > 0.1) misses.push(`${algorithm} ${bytes} B: predicted ${predicted.toFixed(2)} ms, measured ${measured.toFixed(2)} (${(100 * error).toFixed(0)}%)`);
    }
  }
  assert.equal(misses, [], misses.join('; '));
});

test('the same world without the spread: calibration gives back the truth (the median rank changes nothing where the ranks agree)', async () => {
  const world = new SimRanks(RANKS, truth);
  const { params } = (await world.onClock((comm) => calibrate(comm)))[0]!;
  for (const algorithm of ['ring', 'tree']) {
    for (const bytes of [8, 64 << 10, 1 << 20, 16 << 20]) {
      const expected = predictSeconds(algorithm, call(bytes, RANKS), truth)!;
      const got = predictSeconds(algorithm, call(bytes, RANKS), params)!;
      assert.ok(Math.abs(got / expected - 1) < 1e-3, `${algorithm} ${bytes} B: ${got} vs ${expected}`);
    }
  }
});

test.run();
