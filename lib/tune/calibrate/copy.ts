// The out-of-place copy's rate (CostParams.copy): every rank copies a buffer of the larger runs'
// size at once, as the ranks of an out-of-place allreduce each copy their send buffer into their
// receive buffer before the schedule starts (lib/comm/plans.ts), so where ranks share a host's
// cores and memory the figure is a shared one, as the calls' copies are.
import { median } from '../median.js';
import type { CalibrationComm } from './types.js';

/** Timed copies, past one untimed (the target's first touch: page faults no call's copy pays on its pooled buffers). */
export const COPY_RUNS = 3;

/** Seconds per byte of the comm's host copy of `bytes`, every rank at once: the median of COPY_RUNS, each begun together; 0 where the comm has no copy to time. */
export async function copyRate(comm: Pick<CalibrationComm, 'maxAll' | 'copy'>, bytes: number): Promise<number> {
  const copy = comm.copy?.bind(comm);
  if (copy === undefined) return 0;
  const count = Math.max(1, Math.floor(bytes / 4));
  const source = new Float32Array(count);
  const target = new Float32Array(count);
  copy(target, source);
  const times: number[] = [];
  for (let run = 0; run < COPY_RUNS; run++) {
    await comm.maxAll(new Float32Array(1));
    const started = performance.now();
    copy(target, source);
    times.push((performance.now() - started) / 1000);
  }
  return median(times) / (4 * count);
}
