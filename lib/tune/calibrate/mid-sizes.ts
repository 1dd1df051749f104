// The β curves' mid sizes: rounds of blocks of every schedule at every mid size, spread over a
// few time slices, each point the lower quartile (or median) of its blocks.
import type { CalibrationComm, Sample, Run, Figure } from './types.js';
import { sampleOf } from './traffic.js';
import { LATENCY_BLOCK, runTimes, fastestRanks, figureOf } from './timing.js';

/** Untimed rounds of the mid sizes before their timed ones. */
export const MID_UNTIMED_ROUNDS = 2;

/**
 * The least wall time the mid sizes' timed rounds are spread over: each round times every
 * schedule at every mid size once (one untimed pass over all of them first: on a fresh world
 * the first sizes timed ran the code cold), as many rounds as this takes (CURVE_ROUNDS at
 * least, CURVE_MAX_ROUNDS at most), and each point is the lower quartile of its rounds. On a
 * 2-core host shared with other jobs a call runs in one of two modes that last 50-300 ms each:
 * 2 inproc ranks' 64 KiB ring calls 27-60 µs, then 410-680 µs (other processes on the cores;
 * `bench/tune-direct-probe.ts` and a series of blocks, docs/PERFORMANCE.md tune13). Size by size,
 * a size's 4 rounds took under 1 ms and fell in one mode: the first calibration of a process put
 * the ring's and tree's 64 KiB points at 6.2-12.5 ns/B against 0.0-0.9 in the next (2 inproc
 * ranks, 8 of 8 calibrations; 1-8 untimed passes first made no difference), and every 32-128 KiB
 * ring and tree call was priced 3-10x over (the sweep's worst points, +816% and +1018%).
 */
const CURVE_SPREAD_SECONDS = 0.3;
const CURVE_MAX_ROUNDS = 32;

/** What a maxAll that lines the ranks up before a mid-size block reduces: nothing of use. */
const LINE_UP = new Float32Array(1);

/** A mid size's run and what its blocks give: their lower quartile or (the board past the mid sizes) median; ownOnly: kept out of the fit and the pooled curve. */
interface MidRun extends Run {
  readonly figure: Figure;
  readonly ownOnly?: boolean;
}

/**
 * The curve's points of `runs` (blocks of LATENCY_BLOCK calls), every run timed in each round
 * (runTimes), after the untimed rounds and warmRounds' more, the timed rounds spread over
 * CURVE_SPREAD_SECONDS at least: their count from the last untimed round's time, the slowest
 * rank's, so every rank runs as many (where that round is long, LONG_MID_ROUND_SECONDS, no warm
 * round and LONG_CURVE_ROUNDS timed). Each block starts after a maxAll that lines the ranks up,
 * as the sweep's and webccl-perf's streams start together: 2 tcp ranks in one process, each going
 * on to its next block as soon as its own ended, streamed 128 KiB direct exchanges at 880-960 µs a
 * call in 5 of 6 passes (a mode that held for the whole pass), 206-300 µs in 4 of 6 lined up; 64
 * KiB ones at 194-655 against 146-190 (docs/PERFORMANCE.md, tune17). Each point is the fastest
 * rank's figure, as the few-byte runs' (fewBytePass).
 */
export async function midSamples(comm: CalibrationComm, runs: readonly MidRun[], untimed: number, gamma: number): Promise<Sample[]> {
  const allReduce = (data: Float32Array, name: string) => comm.allReduce(data, name);
  const lineUp = () => comm.maxAll(LINE_UP);
  await runTimes(runs, 0, untimed - 1, LATENCY_BLOCK, allReduce, lineUp);
  const started = performance.now();
  await runTimes(runs, 0, 1, LATENCY_BLOCK, allReduce, lineUp);
  const [round] = await comm.maxAll(Float32Array.of((performance.now() - started) / 1000));
  const long = round! >= LONG_MID_ROUND_SECONDS;
  await runTimes(runs, 0, long ? 0 : warmRounds(round!), LATENCY_BLOCK, allReduce, lineUp);
  const times = await runTimes(runs, long ? LONG_CURVE_ROUNDS : curveRounds(round!), 0, LATENCY_BLOCK, allReduce, lineUp);
  const fastest = await fastestRanks(comm, times.map((t, i) => figureOf(runs[i]!.figure)(t)));
  return runs.map((run, i) => ({
    ...sampleOf(comm, run.algorithm, run.bytes, fastest[i]!, gamma), point: true,
    ...(run.figure === 'lower' && { lower: true }), ...(run.ownOnly && { ownOnly: true }),
  }));
}

/**
 * Untimed rounds of the mid sizes after the first untimed ones, before the timed ones: as many as
 * fill MID_WARM_SECONDS (at most CURVE_MAX_ROUNDS). The few-byte warm-up (WARM_CALLS) does not
 * warm a large call's own paths: in a fresh process the first pass of mid rounds ran 2 tcp
 * ranks' 256 KiB ring calls at 417-528 µs (lower quartiles) and the direct exchange's 128 KiB ones
 * at up to 967, where a second pass right after ran them at 415-438 and 228-256.
 */
const MID_WARM_SECONDS = 0.2;
function warmRounds(roundSeconds: number): number {
  return roundSeconds > 0 ? Math.min(CURVE_MAX_ROUNDS, Math.ceil(MID_WARM_SECONDS / roundSeconds)) : CURVE_MAX_ROUNDS;
}

/**
 * A round of the mid sizes (the one that sizes the rest, the slowest rank's) at least this long
 * is a long one: 8 shm ranks on 2 cores, whose rounds took 0.5-1.5 s (the board's 0.75-1.0) at
 * load 8-11, so that the mid sizes' 7 rounds and the board's curve's 6 were 3.4-6 s of the
 * calibration (docs/PERFORMANCE.md, slow21, cal21). Such a round alone fills MID_WARM_SECONDS,
 * so no warm round follows it, and LONG_CURVE_ROUNDS timed rounds spread over three times
 * CURVE_SPREAD_SECONDS at least, where CURVE_ROUNDS would give 4. By the round's time, not the
 * rank count: at load ~10, 2 ranks' mid rounds took 80-190 ms (unchanged), 4 shm ranks' board
 * curve 0.7 s (cut as at 8 ranks).
 */
const LONG_MID_ROUND_SECONDS = MID_WARM_SECONDS;
/** Timed rounds of the mid sizes where a round is long (LONG_MID_ROUND_SECONDS): the lower quartile of 3 is their fastest, as of 4. */
const LONG_CURVE_ROUNDS = 3;

/** Timed rounds of the mid sizes for rounds of `roundSeconds` each: over CURVE_SPREAD_SECONDS, within [CURVE_ROUNDS, CURVE_MAX_ROUNDS]. */
function curveRounds(roundSeconds: number): number {
  const spread = roundSeconds > 0 ? Math.ceil(CURVE_SPREAD_SECONDS / roundSeconds) : CURVE_MAX_ROUNDS;
  return Math.min(CURVE_MAX_ROUNDS, Math.max(CURVE_ROUNDS, spread));
}

/** Rounds of blocks at each of the β curve's mid sizes: 4 block figures (8 timed calls) of each schedule (the larger runs time 5, one round each). */
const CURVE_ROUNDS = 4;
