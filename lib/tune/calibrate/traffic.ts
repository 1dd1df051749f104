// A run's traffic by its schedule's formula (model.ts), and the Sample a timed run makes of it.
import { callTraffic, wireBytes } from '../model.js';
import type { Traffic } from '../../collectives/traffic.js';
import type { TimedCollective } from '../params.js';
import type { CalibrationComm, Sample, Terms } from './types.js';

/**
 * An allreduce's traffic by its formula (plannedRuns keeps the direct exchange inside its domain;
 * the others have none), or with `collective`, that collective's run as calls back to back (a rooted
 * run's period, Traffic.stream: the larger runs time the second call of a block).
 */
export function trafficOf(comm: CalibrationComm, algorithm: string, bytes: number, chunkBytes = comm.chunkBytes, collective?: TimedCollective) {
  return callTraffic(algorithm, { collective: collective ?? 'allReduce', ...(collective !== undefined && { backToBack: true }), bytes, ranks: comm.size, chunkBytes, ...(comm.pipelineDepth !== undefined && { pipelineDepth: comm.pipelineDepth }), ...(comm.switchPacketValues !== undefined && { switchPacketValues: comm.switchPacketValues }), ...(comm.switchExponents !== undefined && { switchExponents: comm.switchExponents }) }, comm.oneThread)!;
}

/** A run's terms in Sample order: its link bytes as the model prices them (wireBytes, with the probe's slow link where it measured one). */
export function termsOf(comm: Pick<CalibrationComm, 'slowLink'>, traffic: Pick<Traffic, 'messages' | 'sends' | 'linkBytes' | 'slowRankBytes'>): Terms {
  return [1, traffic.messages, traffic.sends, wireBytes(traffic, comm.slowLink)];
}

/** A host-memory run's sample: its traffic's terms and its time less its folds' γ (an allreduce's, or `collective`'s). */
export function sampleOf(comm: CalibrationComm, algorithm: string, bytes: number, seconds: number, gamma: number, chunkBytes?: number, collective?: TimedCollective): Sample {
  const traffic = trafficOf(comm, algorithm, bytes, chunkBytes, collective);
  return { terms: termsOf(comm, traffic), seconds: Math.max(0, seconds - traffic.reducedBytes * gamma), bytes, algorithm, referenceSends: traffic.referenceSends, referenceBytes: traffic.referenceBytes, ...(collective !== undefined && { collective }) };
}
