// Calibration on a simulated world of several ranks, each its own CalibrationComm, on one fake
// clock advanced event by event: unlike tune-calibrate-sim's single rank standing for the world,
// the ranks of a call join at different times, as back-to-back calls make them. The direct
// exchange is one hop: each rank sends its whole buffer when it joins, so a rank that joins late
// finds its peer's bytes already there and only folds them. Its ranks share one CPU for the
// folds (ranks in one process, as bench/tune-sweep.ts and webccl-perf --transport inproc run
// them), so one rank's fold waits for the other's: calls in a row alternate which rank leaves
// first, and each call of a rank that left first and joins first is short by a fold (2 shm
// ranks at 512 KiB: 0.6 ms such calls in a stream of 1.3 ms a call). A call's own time, taken
// as that rank's figure, priced the direct exchange's bytes at ~half of what its stream costs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { calibrate } from '../lib/tune/calibrate.js';
import { predictSeconds } from '../lib/tune/model.js';
import { DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';
import { SimRanks, simCall as call } from './helpers/sim-ranks.js';

/**
 * Share of the direct exchange's link time that its ranks' folds after the bytes arrive take
 * together (CPU work, one rank at a time; under 1, so that the link, not the CPU, sets the pace).
 */
const FOLD_SHARE = 0.8;

async function calibratedWorld(truth: CostParams, size: number): Promise<CostParams> {
  const results = await new SimRanks(size, truth, { directFoldShare: FOLD_SHARE }).onClock((comm) => calibrate(comm));
  return results[0]!.params;
}

const truth: CostParams = { ...DEFAULT_COST_PARAMS, call: 30e-6, alpha: 80e-6, overhead: 20e-6, beta: 2e-9, gamma: 0 };
const near = (value: number, expected: number, what: string, tolerance: number) => assert.ok(Math.abs(value - expected) <= tolerance * expected, `${what}: ${value} vs ${expected}`);

test("2 ranks on one CPU whose direct exchange's late rank only folds: its curve and its mid-size calls are priced at the stream's per-call time", async () => {
  // 2 ranks: with more, folds serialised on one CPU hold up the sends of the ranks behind them, and the stream's period is no longer the model's time.
  const p = await calibratedWorld(truth, 2);
  assert.ok(p.betaCurves['direct']!.length >= 2, `direct curve: ${JSON.stringify(p.betaCurves['direct'])}`);
  for (const point of p.betaCurves['direct']!) near(point.beta, truth.beta, `direct at ${point.linkBytes}`, 0.02);
  for (const bytes of [32 << 10, 128 << 10]) near(predictSeconds('direct', call(bytes, 2), p)!, predictSeconds('direct', call(bytes, 2), truth)!, `direct at ${bytes} B`, 0.02);
  // The schedules whose ranks leave together are measured as before.
  for (const algorithm of ['ring', 'tree']) near(predictSeconds(algorithm, call(1 << 20, 2), p)!, predictSeconds(algorithm, call(1 << 20, 2), truth)!, `${algorithm} at 1 MiB`, 0.02);
});

test.run();
