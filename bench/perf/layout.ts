// How a message size becomes buffer counts for each collective, following nccl-tests: the size
// is what one rank's largest buffer holds, per-rank pieces are rounded down to whole elements.
import { elementBytes, type DataType } from '../../lib/dtype.js';
import type { PerfCollective } from './names.js';

export interface BufferLayout {
  /** Elements in each rank's send buffer. */
  readonly sendCount: number;
  /** Elements in each rank's receive buffer. */
  readonly recvCount: number;
  /** The count argument of the API call (per rank or per peer, as the collective defines it). */
  readonly callCount: number;
  /** The size column: bytes of the larger buffer. */
  readonly bytes: number;
}

export function bufferLayout(collective: PerfCollective, bytes: number, dtype: DataType, ranks: number): BufferLayout {
  const size = elementBytes(dtype);
  const whole = Math.floor(bytes / size);
  // Per-rank pieces are whole 4-byte words (nccl-tests aligns them too), so that a rank's slot in
  // a shared buffer starts where a GPU copy may start.
  const wordElements = Math.max(1, 4 / size);
  const perRank = Math.floor(whole / ranks / wordElements) * wordElements;
  switch (collective) {
    case 'allreduce':
    case 'broadcast':
    case 'reduce':
    case 'sendrecv':
      return { sendCount: whole, recvCount: whole, callCount: whole, bytes: whole * size };
    case 'allgather':
      return { sendCount: perRank, recvCount: perRank * ranks, callCount: perRank, bytes: perRank * ranks * size };
    case 'reducescatter':
      return { sendCount: perRank * ranks, recvCount: perRank, callCount: perRank, bytes: perRank * ranks * size };
    case 'alltoall':
      return { sendCount: perRank * ranks, recvCount: perRank * ranks, callCount: perRank, bytes: perRank * ranks * size };
  }
}
