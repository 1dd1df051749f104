// What calibration (lib/tune/calibrate.ts) runs of the collectives besides the allreduce: a float32
// sum call of one on a named algorithm, in place, with `bytes` per rank as the cost model states
// the call (reduceScatter's and allGather's block, broadcast's and reduce's buffer), so that each
// gets a fixed cost of its own: the board's (lib/tune/params.ts's BoardCostParams.collectives),
// the ring's reduce-scatter and all-gather (CostParams.halfOffsets).
import type { BoardCollective } from '../tune/params.js';
import type { Communicator } from './communicator.js';

export type CollectiveCaller = (collective: BoardCollective, bytes: number, algorithm: string) => Promise<void>;

/** Runs each collective with buffers kept per size (calibration calls the same few sizes many times). */
export function collectiveCaller(comm: Pick<Communicator, 'rank' | 'size' | 'reduceScatter' | 'allGather' | 'broadcast' | 'reduce'>): CollectiveCaller {
  const buffers = new Map<number, Float32Array>();
  return (collective, bytes, algorithm) => {
    const count = Math.max(1, Math.floor(bytes / 4));
    let whole = buffers.get(count);
    if (!whole) buffers.set(count, (whole = new Float32Array(count * comm.size)));
    // Zeros stay zeros through repeated sums in place.
    whole.fill(0);
    const own = whole.subarray(comm.rank * count, (comm.rank + 1) * count);
    const options = { algorithm };
    switch (collective) {
      case 'reduceScatter': return comm.reduceScatter(whole, own, count, 'float32', 'sum', options);
      case 'allGather': return comm.allGather(own, whole, count, 'float32', options);
      case 'broadcast': return comm.broadcast(own, own, count, 'float32', 0, options);
      case 'reduce': return comm.reduce(own, own, count, 'float32', 'sum', 0, options);
    }
  };
}
