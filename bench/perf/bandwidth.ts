// Algorithm and bus bandwidth as nccl-tests defines them (its PERFORMANCE.md): algbw is the
// message size over the time; busbw scales it by the share of the data each rank's link must
// carry in the optimal algorithm, so that busbw is comparable across collectives and rank counts.
import type { PerfCollective } from './names.js';

export function busBandwidthFactor(collective: PerfCollective, ranks: number): number {
  switch (collective) {
    case 'allreduce': return (2 * (ranks - 1)) / ranks;
    case 'allgather':
    case 'reducescatter':
    case 'alltoall': return (ranks - 1) / ranks;
    case 'broadcast':
    case 'reduce':
    case 'sendrecv': return 1;
  }
}

/** Bytes per nanosecond, i.e. GB/s with GB = 1e9 bytes (nccl-tests' unit). */
export function algorithmBandwidth(bytes: number, timeUs: number): number {
  return timeUs > 0 ? bytes / (timeUs * 1000) : 0;
}

export function busBandwidth(collective: PerfCollective, ranks: number, bytes: number, timeUs: number): number {
  return algorithmBandwidth(bytes, timeUs) * busBandwidthFactor(collective, ranks);
}
