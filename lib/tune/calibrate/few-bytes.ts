// The few-byte runs of the schedules of messages: passes apart in time, the fastest kept, so that
// one of the host's slow phases does not set call, α and o.
import type { CalibrationComm, Sample } from './types.js';
import { UNTIMED_ROUNDS, FEW_BYTES } from './plan.js';
import { blockSamples } from './timing.js';
import { untimedCalls } from './warm-up.js';

/**
 * Passes of the few-byte rounds, FEW_GAP_SECONDS of untimed few-byte calls between two (the
 * code stays warm, the clock moves on); the pass kept is the one whose schedules' medians sum to
 * the least (the agreed figures' sums, agreed once more, so every rank keeps the same pass),
 * medians and lower quartiles together, so that call, α and o come from one pass's figures. One
 * pass of 6 rounds takes 15-40 ms on 2 tcp ranks, and the host runs in fast and slow phases of
 * 50-300 ms, 10-15x apart: in about half of the 2-rank tcp calibrations of tune15's sweeps the
 * pass fell in a slow one and priced the 8-byte direct exchange at 190-300 µs, where the sweep
 * measured 40-130. Spreading its rounds over 0.3 s instead (tried in tune15) took a median over
 * both phases and priced 4 tcp ranks' direct exchange 2x in half the runs. A phase slows every
 * schedule of a pass alike, so the least sum is a pass in the fast phase wherever one is.
 */
const FEW_PASSES = 3;
/** The schedules of the few-byte runs (the board's have a stream of their own: boardFewSamples). */
export const FEW_ALGORITHMS = ['ring', 'tree', 'direct'] as const;
/**
 * The untimed calls' time between two passes, whatever a pass's own length. Shrunk by the pass's
 * own time (tried in tune18: the passes starting 0.15 s apart) it vanished where a slow phase
 * stretched a pass past 0.15 s, so the next passes ran in the same phase: 4 shm ranks in one
 * process priced their 8-byte calls 1.3-1.9x in 3 of 5 sweeps (0 of 5 with the fixed gap).
 */
const FEW_GAP_SECONDS = 0.15;

/** `perCall`: the warm-up's seconds a call (untimedCalls), to cut the gaps' batches where calls are slow. */
export async function fewByteSamples(comm: CalibrationComm, rounds: number, gamma: number, perCall: number): Promise<Sample[]> {
  const passes: Sample[][] = [];
  for (let pass = 0; pass < FEW_PASSES; pass++) {
    if (pass > 0) await untimedCalls(comm, FEW_ALGORITHMS, Infinity, FEW_GAP_SECONDS, { perCall });
    passes.push(await blockSamples(comm, FEW_ALGORITHMS, FEW_BYTES, rounds, pass === 0 ? UNTIMED_ROUNDS : 1, gamma, ['median', 'lower']));
  }
  // The sums agreed too: the figures are (blockSamples's), but less each rank's own γ, 0 on a rank
  // that timed no host work (inTurn), a few bytes' folds that could split a near tie.
  const sums = await comm.maxAll(Float32Array.from(passes, (samples) => samples.filter((s) => !s.lower).reduce((sum, s) => sum + s.seconds, 0)));
  const kept = sums.indexOf(Math.min(...sums));
  return passes[kept]!;
}
