// bench/tune-reprice-points.ts: a saved sweep's points priced again with the model as it is now
// (each world's own parameters), and the model's pick at each size scored by the fixed columns.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { picks, repriced, type Run } from '../bench/tune-reprice-points.js';
import { pointStats, type SweptWorld } from '../bench/tune-sweep-report.js';
import { predictSeconds } from '../lib/tune/model.js';
import { DEFAULT_COST_PARAMS } from '../lib/tune/params.js';

const world: SweptWorld = { transport: 'tcp', ranks: 2, chunkBytes: 1 << 20, pipelineDepth: 4, memory: 'cpu', board: false, params: { ...DEFAULT_COST_PARAMS, alpha: 50e-6, overhead: 10e-6, beta: 1e-9 } };
const call = (bytes: number) => ({ collective: 'allReduce' as const, bytes, ranks: 2, chunkBytes: 1 << 20, pipelineDepth: 4, memory: 'cpu' as const });
const point = (algorithm: string, bytes: number, roundsUs: number[], ran?: string) => pointStats({ transport: 'tcp', ranks: 2, algorithm, ...(ran && { ran }), bytes, predictedUs: 1, roundsUs });

test('every point is priced with its world\'s parameters for the algorithm that ran (auto: what it ran)', () => {
  const run: Run = { file: 'x', worlds: [world], points: [point('ring', 1 << 20, [900, 1000, 1100]), point('auto', 8, [40, 50, 60], 'direct')] };
  const [ring, auto] = repriced(run);
  assert.ok(Math.abs(ring!.predictedUs - predictSeconds('ring', call(1 << 20), world.params)! * 1e6) < 1e-9);
  assert.ok(Math.abs(auto!.predictedUs - predictSeconds('direct', call(8), world.params)! * 1e6) < 1e-9);
  assert.is(ring!.measuredUs, 1000);
  assert.ok(Math.abs(ring!.signed - (ring!.predictedUs - 1000) / 1000) < 1e-12, 'the error is recomputed against the same rounds');
  assert.throws(() => repriced({ ...run, worlds: [] }), /no world for tcp at 2 ranks/);
});

test('the pick now is scored by its fixed column against the best fixed column', () => {
  // At 8 bytes these parameters pick the direct exchange (one hop); the ring measured fastest.
  const run: Run = { file: 'x', worlds: [world], points: [point('ring', 8, [30, 30, 30]), point('tree', 8, [90, 90, 90]), point('direct', 8, [45, 45, 45]), point('auto', 8, [45, 45, 45], 'direct')] };
  const [row] = picks(run);
  assert.equal({ pick: row!.pick, best: row!.best }, { pick: 'direct', best: 'ring' });
  assert.ok(Math.abs(row!.ratio - 1.5) < 1e-12);
});

test.run();
