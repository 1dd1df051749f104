// The board's few-byte runs: its allreduce's and its other collectives' calls, each in a stream
// of its own, in blocks sized by its warm-up's pace.
import { median } from '../median.js';
import { BOARD_COLLECTIVES, type BoardCollective } from '../params.js';
import type { CalibrationComm, Sample } from './types.js';
import { UNTIMED_ROUNDS, FEW_BYTES } from './plan.js';
import { interleavedTimes, agreedSamples, fastestRanks } from './timing.js';
import { untimedCalls } from './warm-up.js';

/**
 * Calls in a block of the board's few-byte streams: one untimed, then as many as take
 * BOARD_BLOCK_SECONDS at the board warm-up's pace (boardFewBlock), at least 4, at most
 * BOARD_FEW_BLOCK_MOST. Blocks of 4 timed calls priced 2 shm processes' board allreduce at 6.5 µs
 * a call in two calibrations where settled streams of them ran 1.0-1.4 (the sweep's 8 B-4 KiB
 * points 3.5-6.8x over): a block of a few µs times its own start. Blocks of 1 ms priced it 1.2-5.0
 * µs: a 2-process calibration runs in one of two modes for seconds at a time, every block at
 * 1.2-2.2 µs in one, 3.2-4.5 in another (docs/PERFORMANCE.md, versus31). At 4 and 8 ranks a call
 * takes 15-70 µs, and blocks of 4 priced them within 15%; 1 ms blocks added about 0.4 s to 8 shm
 * ranks' calibration (8.5 -> 9.6 s in one run each).
 */
const BOARD_BLOCK_SECONDS = 0.001;
const BOARD_FEW_BLOCK_LEAST = 5;
export const BOARD_FEW_BLOCK_MOST = 513;

/** The board's few-byte block (one untimed call and the timed ones) for calls of `perCall` seconds (agreed on every rank). */
export function boardFewBlock(perCall: number): number {
  if (!(perCall > 0)) return BOARD_FEW_BLOCK_LEAST;
  return Math.min(BOARD_FEW_BLOCK_MOST, Math.max(BOARD_FEW_BLOCK_LEAST, 1 + Math.ceil(BOARD_BLOCK_SECONDS / perCall)));
}

/**
 * One pass of the board's few-byte allreduce: its calls in a stream of board calls alone (not
 * blocks interleaved with the schedules of messages as the others' few-byte runs are), 2·repeats
 * + 1 rounds of `block` calls past UNTIMED_ROUNDS; this rank's seconds a call in each block. A
 * board call right after another schedule's finds the board's side asleep (its thread parked on
 * the futex, the JS thread's spin given up), which a stream of board calls, what `auto` runs on
 * a host with a board, does not: 2 shm ranks in one process at load 7-10
 * (`bench/tune-board-fixed.ts 2 12`), blocks of 3 among the others' took 163 / 209 µs a call
 * (median of 12; single blocks up to 16 ms), the board's own blocks of 5 84 / 104 µs; with 6 such
 * interleaved blocks calibration's median flipped between the modes (2 ranks: 987 µs in one
 * sweep's calibration, 59-134 µs measured by the sweep at 8 B-128 KiB, its worst points: +639 to
 * +1526%). More rounds too (2·repeats + 1), so the median of the blocks holds when a few stall.
 */
export async function boardFewTimes(comm: CalibrationComm, repeats: number, block: number): Promise<number[][]> {
  return interleavedTimes(comm, ['board'], FEW_BYTES, 2 * repeats + 1, UNTIMED_ROUNDS, block);
}

/**
 * The board's few-byte figures (median and lower quartile over a pass's blocks) from its passes
 * (boardFewTimes), each figure the lowest pass's, then the fastest rank's. Two processes' board
 * calls run in modes that hold for tens to hundreds of milliseconds, 1.0-1.2, about 2 and 3.5-4
 * µs a call at 2 shm ranks on this host, switching with no change in what the ranks run (a loop
 * of nothing but board calls switches too: docs/PERFORMANCE.md, modes37); a pass of 11 blocks
 * of about 1 ms sits in one of them. Timed right after the other schedules' few-byte runs, as
 * it was, the pass met the slow mode in 24 of 31 calibrations (3.6-6.5 µs, where the sweeps'
 * 8 B-4 KiB calls ran 0.8-2.5), and after the board's other collectives and after the mid sizes
 * 1.6-1.8 and 1.7-2.6 µs: calibrate times a pass at each of those two points and keeps the
 * faster, what a stream of calls settles at once past a slow spell.
 */
export async function boardFewSamples(comm: CalibrationComm, passes: readonly (readonly (readonly number[])[])[], gamma: number): Promise<Sample[]> {
  return agreedSamples(comm, ['board'], FEW_BYTES, passes, gamma, ['median', 'lower']);
}

/**
 * The warm-up of the board's other collectives (untimedCalls). The board's warm-up runs its
 * allreduce only, and their own code (each collective's call into the board) ran cold through the
 * two untimed rounds: 2 shm ranks priced them 1.25-5.7x what the sweeps' streams of them took,
 * 0.67-1.55x warmed (five and seven calibrations); 4 shm ranks 1.35-3.8x and 0.69-3.48x, no clear
 * gain (docs/PERFORMANCE.md, bwarm38). Up to 4 ranks: BOARD_COLLECTIVE_WARM_CALLS in all (a
 * thousand each) where they fit in BOARD_COLLECTIVE_WARM_LONGEST at the fastest pace seen (about
 * 0.2 s at 4 shm ranks once warm; their cold first calls' pace can fail a limit of 1 s), else only
 * the BOARD_COLLECTIVE_WARM_PROBE that measures the pace. Past 4 ranks the probe alone: at 8 shm
 * ranks on 2 cores (calls of 160-290 µs) 0.5 s of them priced the four higher, not lower,
 * 1.65-2.76x against 1.14-2.03x without (two calibrations each; cause not found), the probe alone
 * 1.10-1.40x (one). Blocks of three times the calls, tried beside it (modes37's remedy at 2
 * ranks), added nothing once they were warm.
 */
const BOARD_COLLECTIVE_WARM_CALLS = 4096;
const BOARD_COLLECTIVE_WARM_LONGEST = 3;
const BOARD_COLLECTIVE_WARM_PROBE = 0.05;

/**
 * Seconds per few-byte call of each of the board's other collectives (BOARD_COLLECTIVES order), in
 * streams of their own as the allreduce's (boardFewTimes), interleaved with one another round by
 * round, after their own warm-up (BOARD_COLLECTIVE_WARM_CALLS); each the median of its blocks, the
 * fastest rank's (fastestRanks). Timed before the allreduce's first pass: at 10-50 µs a call, the
 * slow mode's few µs weigh less on them. Empty where the comm cannot run them (no boardCall: every
 * rank alike, calibrationComm gives it wherever it gives board).
 */
export async function boardCollectiveSeconds(comm: CalibrationComm, repeats: number, block: number): Promise<number[]> {
  const boardCall = comm.boardCall?.bind(comm);
  if (!boardCall) return [];
  const run = (name: string) => boardCall(name as BoardCollective, FEW_BYTES);
  const longest = comm.size <= 4 ? BOARD_COLLECTIVE_WARM_LONGEST : BOARD_COLLECTIVE_WARM_PROBE;
  await untimedCalls(comm, BOARD_COLLECTIVES, BOARD_COLLECTIVE_WARM_CALLS, BOARD_COLLECTIVE_WARM_PROBE, { longest, run });
  const times = await interleavedTimes(comm, BOARD_COLLECTIVES, FEW_BYTES, 2 * repeats + 1, UNTIMED_ROUNDS, block, (_, name) => run(name));
  return fastestRanks(comm, times.map(median));
}
