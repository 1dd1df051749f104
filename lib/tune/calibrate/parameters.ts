// The cost model's parameters from one rank's measurements (or the maximum over ranks): the fits,
// curves, offsets, φ, the board's, the switch's and the GPU's terms together.
import { betaAt } from '../model.js';
import { BOARD_COLLECTIVES, DEFAULT_COST_PARAMS, HALF_COLLECTIVES, type BoardCostParams, type CostParams } from '../params.js';
import type { CalibrationComm, Fitted, Measured } from './types.js';
import { fitLatencyBandwidth, lowerFit, sharedSamples } from './fit.js';
import { curveOf, curvesByAlgorithm, type FixedOffsets, fixedOffsetsOf, boardFixed } from './curves.js';
import { referenceCost, withoutReference } from './reference.js';
import { switchCosts } from './switch.js';
import { gpuCosts } from './gpu.js';

/** Parameters from one rank's measurements, or the maximum over ranks. */
export function parametersOf(comm: CalibrationComm, m: Measured, threshold?: number): CostParams {
  const reference = threshold === undefined ? undefined : referenceCost(m.samples, threshold);
  // What the runs' messages by reference cost is priced by φ, not in β: their times less it.
  const samples = reference === undefined ? m.samples : withoutReference(m.samples, reference);
  m = { ...m, samples };
  const shared = sharedSamples(m.samples);
  const fit = shared.length === 0 ? [0, 0, 0, 0] as Fitted : fitLatencyBandwidth(shared);
  const [call, alpha, overhead, beta] = fit;
  const host = { call, alpha, overhead, beta };
  const lower = lowerFit(m.samples, fit);
  const offsets: FixedOffsets = fixedOffsetsOf(m.samples, fit, lower);
  const betaCurve = curveOf(shared, fit, undefined, lower, undefined, offsets);
  const board = boardFixed(m.samples);
  // The rooted runs' (rootedRuns: the tree's and the ring's broadcasts), which price every rooted collective of their schedule.
  // Their fixed part is their few-byte broadcasts' (rootedFewSamples), as the model prices it.
  const rooted = fixedOffsetsOf(m.samples, fit, lower, 'broadcast');
  const rootedCurves = curvesByAlgorithm(m.samples, fit, lower, board, rooted, 'broadcast');
  // The halves of the allreduce (halfFewSamples), each its own fixed part, where they were timed.
  const halves = HALF_COLLECTIVES.flatMap((collective) => {
    const own = fixedOffsetsOf(m.samples, fit, lower, collective).median;
    return Object.keys(own).length > 0 ? [[collective, own] as const] : [];
  });
  const switched = switchCosts(comm, m.switchRuns, host, (linkBytes) => betaAt({ beta, betaCurve }, linkBytes));
  return {
    ...DEFAULT_COST_PARAMS, memory: m.gpuGamma === undefined ? 'cpu' : 'gpu', call, alpha, overhead, beta, betaCurve, betaCurves: curvesByAlgorithm(m.samples, fit, lower, board, offsets), gamma: m.gamma, codecs: m.codecs, ...switched,
    ...(m.copy > 0 && { copy: m.copy }),
    ...(comm.oneThread === true && { oneThread: true }),
    ...(reference && { reference }),
    ...(Object.keys(offsets.median).length > 0 && { fixedOffsets: offsets.median }),
    ...(Object.keys(rootedCurves).length > 0 && { rootedCurves }),
    ...(Object.keys(rooted.median).length > 0 && { rootedOffsets: rooted.median }),
    ...(halves.length > 0 && { halfOffsets: Object.fromEntries(halves) }),
    ...(board && { board: boardCosts(board.median, m.boardCollectives) }),
    ...(m.gpuGamma !== undefined && m.gpuRuns.length > 0 && { gpu: gpuCosts(comm, m.gpuRuns, m.gpuGamma, host, board?.median, offsets.median) }),
  };
}

/** The board's fixed costs: the allreduce's, and each other collective's where they were timed. */
function boardCosts(allReduce: BoardCostParams, others: readonly number[]): BoardCostParams {
  if (others.length !== BOARD_COLLECTIVES.length) return allReduce;
  return { ...allReduce, collectives: Object.fromEntries(BOARD_COLLECTIVES.map((name, i) => [name, others[i]!])) };
}
