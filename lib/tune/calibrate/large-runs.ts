// The larger runs (half a chunk and up): every size in each round, in blocks of LARGE_BLOCK, the
// runs past four chunks warmed first and left out on a slow link.
import { median } from '../median.js';
import type { CalibrationComm, Sample, Run } from './types.js';
import { sampleOf } from './traffic.js';
import { CURVE_BYTES } from './plan.js';
import { runTimes } from './timing.js';

/** Past this, a four-chunk run is on a link too slow to time sixteen chunks within the budget. */
const SLOW_LINK_SECONDS = 0.05;

/**
 * The least wall time the larger runs' (half a chunk and up) timed rounds are spread over, each
 * round timing every schedule at every such size once, as the mid sizes' (CURVE_SPREAD_SECONDS):
 * `repeats` rounds at least (the half chunk's count before), LARGE_MAX_ROUNDS at most. Timed
 * size by size (before tune14), a size's 3-5 calls fell inside one of the host's phases:
 * 2 inproc ranks' ring at 4 MiB came out 0.27-3.44 ns/B over four calibrations in one process,
 * and a 4 MiB point of 2.2 ns/B (0.3-0.6 in others) priced the tree's 8 MiB calls +270%.
 */
const LARGE_SPREAD_SECONDS = 0.6;
const LARGE_MAX_ROUNDS = 24;

/**
 * The least timed rounds of the larger runs where `repeats` rounds would pass LARGE_SPREAD_SECONDS
 * (else `repeats`): 8 ranks on 2 cores, whose rounds of 4 and 16 MiB calls took 0.15-0.7 s, so
 * that 5 rounds were 1-4 s of a 9-12 s calibration (docs/PERFORMANCE.md, slow21). Where a round
 * takes under 0.12 s (2 and 4 ranks, mostly) the spread asks for `repeats` or more anyway. Not
 * where runs past 4 chunks are timed: their first calls run cold for longer than farWarmRounds'
 * time may cover (tcp21), and the median of `repeats` rounds still lands on a warm call.
 */
const LONG_ROUND_ROUNDS = 3;

/**
 * Calls in a block of a larger run, the first untimed (runTimes): each figure is the second call's,
 * end to end after the first, which is what a call costs in a stream of its own kind (webccl-perf's
 * sweeps, training steps). Timed alone (one call a block, before uneven22), a call after another
 * schedule's was this rank's clock from its own join, and the fastest rank's was the last to
 * join, whose peers had pushed bytes through their links and into its socket while it was still
 * in the previous call: on a link-bound world those bytes came free. 4 tcp ranks, one behind a
 * quarter-rate link (bench/switch-rack.sh -s 4), 4 MiB: the ranks' medians 427-540 ms for the ring
 * and 391-517 for the tree, the fastest 427 and 391, where the same calls in a stream took 517-573
 * and 439-528; the two came out level and the tree's lead at 4-16 MiB went unseen.
 */
const LARGE_BLOCK = 2;

/**
 * The larger runs' samples (host memory, in blocks of LARGE_BLOCK: see there), the median of
 * each run's blocks, every run timed in each round (runTimes), after one untimed round whose
 * time (the slowest rank's) sets the count of timed rounds (LARGE_SPREAD_SECONDS; at least
 * `repeats`, or LONG_ROUND_ROUNDS where rounds are long), and the runs past 4 chunks after
 * farWarmRounds' more. Runs past 4 chunks, the ring's reach run and the optional runs
 * (Run.optional) are left out (every rank alike: the slowest rank's time decides) when a run's
 * faster untimed call took over SLOW_LINK_SECONDS: on a slow link they would take seconds. Each
 * figure is this rank's own; calibrate takes the fastest rank's.
 */
export async function largeSamples(comm: CalibrationComm, runs: readonly Run[], repeats: number, gamma: number): Promise<Sample[]> {
  // An allreduce, or a rooted run's collective (rootedRuns: only where the comm has it).
  const call = (data: Float32Array, name: string, chunkBytes?: number, collective?: Run['collective']) => (collective === 'broadcast' ? comm.broadcast!(data, name) : comm.allReduce(data, name, chunkBytes));
  // One buffer a size through the untimed and the timed rounds: a call on a buffer the transport
  // has not yet seen runs slow (4 shm ranks, 16 MiB ring: the first timed call 32-102 ms, 23-28
  // after, however many untimed rounds ran on other buffers). With a buffer of their own, every
  // first timed round paid it, and the first run of a size in it (the ring's own-chunk run, ahead
  // of the by-reference probe on the same buffer) came out the slower: φ came out 0 (phi21).
  const buffers = new Map<number, Float32Array>();
  const times = (runs: readonly Run[], rounds: number, untimed: number, block = 1) => runTimes(runs, rounds, untimed, block, call, undefined, buffers);
  // The ring's reach run (ownOnly) with the runs past 4 chunks wherever it lies: 4 times the
  // largest run's bytes, it is left out where they are (8 ntcp ranks, cal27); so is an optional
  // run (the ring's rooted one, rootedRuns), which would take calibration past 10 s there.
  const longest = 4 * comm.chunkBytes;
  const far = runs.filter((run) => run.bytes > longest || run.ownOnly === true || run.optional === true);
  const near = runs.filter((run) => !far.includes(run));
  // Where runs could be left out, two untimed rounds and each run's faster call: the first call
  // of a new size (its buffer's first use, a phase of the host) took over 50 ms where its
  // median was under it (2 inproc ranks at 4 MiB, load 7-11), and left out the 16 MiB point.
  const first = (await times(near, far.length > 0 ? 2 : 1, 0)).map((each) => Math.min(...each));
  const [slowest, nearRound] = await comm.maxAll(Float32Array.of(Math.max(0, ...first), first.reduce((sum, t) => sum + t, 0)));
  const kept = far.length > 0 && slowest! <= SLOW_LINK_SECONDS ? [...near, ...far] : near;
  let round = nearRound!;
  if (kept.length > near.length) {
    // Not the ring's reach run (ownOnly): the untimed round takes its buffer's first use, and
    // 0.5 s of warm rounds of it added 1-2.5 s to 4 shm ranks' calibration (big22).
    const warmed = far.filter((run) => run.ownOnly !== true);
    const farFirst = (await times(far, 1, 0)).map((each) => each.reduce((sum, t) => sum + t, 0));
    const [farRound, warmedRound] = await comm.maxAll(Float32Array.of(farFirst.reduce((sum, t) => sum + t, 0), farFirst.filter((_, i) => far[i]!.ownOnly !== true).reduce((sum, t) => sum + t, 0)));
    round += farRound!;
    // The world's first calls of its largest size run slow (FAR_WARM_SECONDS): more of them untimed, as many on every rank (the agreed round).
    if (warmed.length > 0) await times(warmed, 0, farWarmRounds(warmedRound!));
  }
  // A timed round runs each call LARGE_BLOCK times: the spread over LARGE_SPREAD_SECONDS counts them all.
  round *= LARGE_BLOCK;
  const least = kept.length === near.length && round * repeats > LARGE_SPREAD_SECONDS ? LONG_ROUND_ROUNDS : repeats;
  const rounds = Math.min(LARGE_MAX_ROUNDS, Math.max(least, round > 0 ? Math.ceil(LARGE_SPREAD_SECONDS / round) : LARGE_MAX_ROUNDS));
  const timed = await times(kept, rounds, 0, LARGE_BLOCK);
  return kept.map((run, i) => {
    // Past the mid sizes a run is a point of the curve too; among them (a half chunk of up to
    // 2 MiB) its median would put a stalled figure between the blocks' lower quartiles.
    const point = run.bytes > CURVE_BYTES.at(-1)! && run.probe !== true;
    return { ...sampleOf(comm, run.algorithm, 4 * Math.max(1, Math.floor(run.bytes / 4)), median(timed[i]!), gamma, run.chunkBytes, run.collective), point, ...(run.probe === true && { probe: true }), ...(run.ownOnly === true && { ownOnly: true }) };
  });
}

/**
 * Untimed rounds of the runs past four chunks (the largest, 16 MiB on tcp's 1 MiB chunk) after
 * their first untimed one, before the timed rounds: as many as fill FAR_WARM_SECONDS, at most
 * FAR_WARM_MAX_ROUNDS. They are the world's first calls of that size, and its first few run
 * slow: in fresh tcp worlds of 4 ranks in one process, 16 MiB ring calls 2-5 took 100, 97, 62
 * and 64 ms where the same world settled at 41-44 from its 18th, the tree's 70, 70, 119 and 61
 * against 43-49. A fresh connection's kernel receive buffer is 128 KiB (tcp_rmem) and grows
 * (autotuning) with what the reader takes from it: the ring's 4 sockets were at 128 KiB before
 * its first 16 MiB call and 3 of them at 32 MiB after 8 (docs/PERFORMANCE.md, tcp21). With the one untimed call only, their median
 * priced every larger call: the 4-rank ring's 16 MiB point came out 10-50% over what the
 * sweep's warm world then ran, and over the tree's, so auto ran the tree at 128-256 MiB where
 * the ring was 1.1-1.4x faster (big19).
 */
const FAR_WARM_SECONDS = 0.5;
const FAR_WARM_MAX_ROUNDS = 8;
function farWarmRounds(roundSeconds: number): number {
  return roundSeconds > 0 ? Math.min(FAR_WARM_MAX_ROUNDS, Math.ceil(FAR_WARM_SECONDS / roundSeconds)) : FAR_WARM_MAX_ROUNDS;
}
