// The warm-up: untimed few-byte calls before anything is timed, so that a fresh process's
// collective code is optimised (WARM_CALLS; the board's BOARD_WARM_CALLS).
import type { CalibrationComm } from './types.js';
import { FEW_BYTES } from './plan.js';

/**
 * Untimed few-byte calls of every schedule before anything is timed: WARM_CALLS of them, or as
 * many as the slowest rank runs in WARM_SECONDS. Calibration runs in a fresh process (webccl-perf
 * --calibrate, init's option, the sweep's first world), whose collective code V8 optimises only
 * after some hundreds of calls, where the calls the model prices run in a warm one. 2 tcp ranks'
 * 256 KiB ring calls in a fresh process ran 700-1000 µs a call for the first 0.2 s, 250-400 from
 * about the 500th call on, and 500-650 throughout with TurboFan off (node --no-opt): the JIT's
 * tier-up, not a phase of the host (1.5 s asleep first changed nothing; 1000 8-byte calls first
 * made them fast from the start). The mid sizes, timed first, were priced cold: the ring's 64 KiB
 * and 256 KiB calls at 415 and 671 µs in a first calibration against 130-170 and 280-390 in the
 * same process later (docs/PERFORMANCE.md, tune15), and the sweep's 32-512 KiB calls on 2 tcp
 * ranks over-predicted in every run. Few-byte calls: the most calls a second, and they run the
 * code every size runs (the first 256 KiB calls after them were as fast as the 500th).
 */
export const WARM_CALLS = 1024;
export const WARM_SECONDS = 0.5;
/**
 * Where all WARM_CALLS calls fit in this many seconds at the fastest pace seen, the warm-up runs
 * them all, not WARM_SECONDS of them: the tier-up counts calls, not time. 4 tcp processes on 2
 * cores ran ~190 calls in 0.5 s (1.7-2.5 ms each), and their 8-byte calls came out 1.6-2x what a
 * warm sweep measured: ring 1.7-2.1 ms, tree 0.9-1.0, direct 0.50-0.51, against 0.96-1.03,
 * 0.55-0.58 and 0.29-0.33 after all 1024 (about 2 s; 1.0 and 1.4 s of them gave figures between),
 * and the sweeps' allreduces to 2 KiB were priced 1.0-2.7x (0.6-1.3x after; docs/
 * PERFORMANCE.md, warm28). 4 ntcp ranks pace their first batches at 3-4 ms a call and settle at
 * 1.6 after some 1300 (about 3 s): with 3 s here they warmed for 0.4-0.5 s, and their 8-byte
 * direct exchange was priced 1.4 ms where warm calls take 0.65-0.75 (call 1.18 ms against 0.53
 * warmed; docs/PERFORMANCE.md, day34). Up to 4 ranks, 6 s: the phases after the warm-up take
 * 2-4 s there, and a world whose cold calls pace at 4.4-5.9 ms gets its 1024 too: under the
 * 4.5 s of before, 5 of 6 calibrations of 4 relay ranks stopped at 0.5 s (their pace over the
 * 4.39 ms a call it allows; the sixth paced 4.32) and priced the 8-byte direct exchange at
 * 825-1753 µs, where the one that ran all 1024 calls (2.7 s; 1.35 ms a call by then) priced it
 * 363 and the sweeps' took 387-615 (docs/PERFORMANCE.md, warm38). At 8 ranks they take 4-7 s, and calibration is to stay under
 * 10 s: 3 (8 shm ranks pace at 3-4 ms too, and warmed 4.4 s of a 10.4 s calibration under 4.5).
 * Where calls are slower still (8 ntcp ranks, ~11 ms), a JIT's fixed saving is a smaller share
 * of a call: WARM_SECONDS.
 */
export function warmLongestSeconds(ranks: number): number {
  return ranks <= 4 ? 6 : 3;
}
/**
 * The board's few-byte calls are so short (1-2 µs at 2 shm ranks once settled) that V8's tier-up
 * of their path is much of them, and the shared warm-up gives them a quarter of WARM_CALLS:
 * TurboFan finishes that path after some 20,000 calls (webccl-perf's JIT warm-up,
 * DEFAULT_JIT_WARMUP; oop18). As many of them, or as many as fit in BOARD_WARM_SECONDS where
 * calls are slower (8 ranks on 2 cores); their pace sizes the board's few-byte blocks.
 */
export const BOARD_WARM_CALLS = 20_000;
export const BOARD_WARM_SECONDS = 0.3;
/** Calls of each schedule between two checks of the time spent (a check is one maxAll). */
const WARM_BATCH = 32;

/** A few-byte allreduce on host memory with the named schedule (untimedCalls' default call). */
function hostFewCall(comm: CalibrationComm): (algorithm: string) => Promise<void> {
  const data = new Float32Array(FEW_BYTES / 4);
  return (algorithm) => comm.allReduce(data, algorithm);
}

/** What untimedCalls ran: the seconds a call took (the slowest rank's) and how many calls. */
export interface Warmed {
  readonly perCall: number;
  readonly calls: number;
}

/** untimedCalls' optional terms (each described there). */
interface UntimedOptions {
  readonly perCall?: number;
  readonly run?: (algorithm: string) => Promise<void>;
  readonly longest?: number;
}

/**
 * Untimed few-byte calls of each of `algorithms` (`run`: on host memory unless given), a batch of
 * each in turn, until `calls` of them or `seconds` on the slowest rank (`longest` where all
 * `calls` would fit in it at the fastest batch's pace so far), to within half a batch: a batch
 * that would end more than half of one (at the calls' mean so far) past that budget is not
 * begun. The batches start at one call of each and double up to WARM_BATCH: where calls are slow,
 * 8 ntcp ranks on 2 cores (8-byte calls of ~11 ms), a first batch of WARM_BATCH took 1.0 s of the
 * 0.5 (cal27); begun at WARM_BATCH with the stop at the batches' mean, as before, that was the
 * whole warm-up. Given `perCall` (seconds a call, as an earlier run of them returned), every batch
 * is cut to half of `seconds` at most from the first: 8 shm ranks ran each 0.15 s gap between the
 * few-byte passes in one batch of 0.3 s (tune18). Returns the seconds a call took (the slowest
 * rank's) and the calls run: alike on every rank.
 */
export async function untimedCalls(comm: CalibrationComm, algorithms: readonly string[], calls: number, seconds: number, { perCall = 0, run = hostFewCall(comm), longest = seconds }: UntimedOptions = {}): Promise<Warmed> {
  const started = performance.now();
  const most = perCall > 0 ? Math.max(1, Math.min(WARM_BATCH, Math.floor(seconds / 2 / (perCall * algorithms.length)))) : WARM_BATCH;
  let batch = perCall > 0 ? most : 1;
  let ran = 0;
  let spent = 0;
  // The fastest batch's seconds a call so far: the first calls, cold, run several times slower,
  // and one batch's pace moves 1.5x with the host's phases.
  let pace = Infinity;
  // Of agreed figures (`spent`), so every rank takes the same budget.
  const budget = () => (pace * calls <= longest ? longest : seconds);
  while (ran < calls && spent + (ran > 0 ? (spent / ran) * algorithms.length * batch : 0) / 2 < budget()) {
    for (const algorithm of algorithms) for (let i = 0; i < batch; i++) await run(algorithm);
    ran += algorithms.length * batch;
    // The slowest rank's time, so every rank runs as many calls.
    const before = spent;
    spent = (await comm.maxAll(Float32Array.of((performance.now() - started) / 1000)))[0]!;
    pace = Math.min(pace, (spent - before) / (algorithms.length * batch));
    batch = Math.min(most, 2 * batch);
  }
  return { perCall: ran > 0 ? spent / ran : 0, calls: ran };
}
