// The cost model's prediction for one row of webccl-perf: the algorithm (and codec) the
// communicator will choose for the call, priced with its agreed parameters (its tuning file's,
// else the defaults), so the `predicted` column sits beside the measured time: the time per call
// of calls back to back, as the sweep times them (ModelCall.backToBack), out of place, as the
// first of the row's two groups (an allreduce's copy of its send buffer, ModelCall.outOfPlace).
import type { ScheduledCollective } from '../../lib/collectives/algorithms.js';
import { codecNamed } from '../../lib/collectives/codecs.js';
import type { AgreedConfig } from '../../lib/comm/config.js';
import { elementBytes } from '../../lib/dtype.js';
import { predictSeconds } from '../../lib/tune/model.js';
import { defaultCostParams, type MemoryKind } from '../../lib/tune/params.js';
import { chooseAlgorithm, switchTermsOf } from '../../lib/tune/select.js';
import type { CallShape } from './expected.js';
import type { PerfCollective } from './names.js';

export const SCHEDULED: Partial<Record<PerfCollective, ScheduledCollective>> = {
  allreduce: 'allReduce', allgather: 'allGather', reducescatter: 'reduceScatter', broadcast: 'broadcast', reduce: 'reduce',
};

/** What the communicator runs for a row's call and the model's time for it (undefined: no formula prices it). */
export interface PredictedCall {
  readonly algorithm: string;
  readonly us: number | undefined;
}

/** The algorithm the communicator picks for `shape` on `memory` (the perf buffers') and its predicted microseconds per call; undefined where the collective has no choice. */
export function predictedCall(config: AgreedConfig, shape: CallShape, memory: MemoryKind = 'cpu'): PredictedCall | undefined {
  const collective = SCHEDULED[shape.collective];
  if (collective === undefined) return undefined;
  const bytes = shape.layout.callCount * elementBytes(shape.dtype);
  const op = shape.op === 'mulsum' ? 'sum' : shape.op;
  const reduces = collective === 'allReduce' || collective === 'reduce' || collective === 'reduceScatter';
  // As the communicator's plans say it: the op where the call reduces, the agreed board, the
  // memory, and out of place as the row's first group (the model prices an allreduce's copy,
  // which the board does not pay).
  const call = { dtype: shape.dtype, ...(reduces && { op }), ...(config.board && { board: true }), outOfPlace: true };
  try {
    const choice = chooseAlgorithm(collective, bytes, shape.ranks, config, undefined, call, undefined, memory);
    const compressible = collective === 'allReduce' && shape.dtype === 'float32' && (op === 'sum' || op === 'avg');
    const codec = choice.codec ?? (compressible ? codecNamed(config.codec) : undefined);
    const seconds = predictSeconds(choice.algorithm, { collective, bytes, ranks: shape.ranks, chunkBytes: config.chunkBytes, pipelineDepth: config.pipelineDepth, ...switchTermsOf(config, shape.dtype), ...(codec && { codec }), ...(collective === 'allReduce' && { memory }), outOfPlace: true, backToBack: true }, config.tuning?.params ?? defaultCostParams(config.codecLoops));
    return { algorithm: choice.algorithm, us: seconds === undefined ? undefined : seconds * 1e6 };
  } catch {
    return undefined;
  }
}
