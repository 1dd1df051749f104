// What calibration (lib/tune/calibrate.ts) runs of the board's other collectives: a float32 sum
// call of each on the 'board' algorithm, in place, with `bytes` per rank as the cost model states
// the call (reduceScatter's and allGather's block, broadcast's and reduce's buffer), so that each
// gets a fixed cost of its own (lib/tune/params.ts's BoardCostParams.collectives).
import type { BoardCollective } from '../tune/params.js';
import type { Communicator } from './communicator.js';

export type BoardCaller = (collective: BoardCollective, bytes: number) => Promise<void>;

/** Runs each collective on the board with buffers kept per size (calibration calls the same few sizes many times). */
export function boardCaller(comm: Pick<Communicator, 'rank' | 'size' | 'reduceScatter' | 'allGather' | 'broadcast' | 'reduce'>): BoardCaller {
  const buffers = new Map<number, Float32Array>();
  const options = { algorithm: 'board' } as const;
  return (collective, bytes) => {
    const count = Math.max(1, Math.floor(bytes / 4));
    let whole = buffers.get(count);
    if (!whole) buffers.set(count, (whole = new Float32Array(count * comm.size)));
    // Zeros stay zeros through repeated sums in place.
    whole.fill(0);
    const own = whole.subarray(comm.rank * count, (comm.rank + 1) * count);
    switch (collective) {
      case 'reduceScatter': return comm.reduceScatter(whole, own, count, 'float32', 'sum', options);
      case 'allGather': return comm.allGather(own, whole, count, 'float32', options);
      case 'broadcast': return comm.broadcast(own, own, count, 'float32', 0, options);
      case 'reduce': return comm.reduce(own, own, count, 'float32', 'sum', 0, options);
    }
  };
}
