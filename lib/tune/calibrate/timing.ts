// Timing primitives shared by every phase: a run's median, the interleaved rounds of blocks
// (runTimes) and their figures, the fastest rank's (agreedSamples).
import { median } from '../median.js';
import type { CalibrationComm, Sample, Run, Figure, Timed } from './types.js';
import type { TimedCollective } from '../params.js';
import { sampleOf } from './traffic.js';
import { agreedSeconds } from './agreement.js';

/** The median (or fastest) seconds of `repeats` runs of `run`, after one untimed (first use of a size: buffers, pools). */
export async function medianSeconds(run: () => Promise<void>, repeats: number, fastest = false): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    await run();
    times.push((performance.now() - started) / 1000);
  }
  return fastest ? Math.min(...times) : median(times);
}

export async function timed(run: () => Promise<void>, algorithm: string, bytes: number, repeats: number, fastest = false): Promise<Timed> {
  return { algorithm, bytes, seconds: await medianSeconds(run, repeats, fastest) };
}

/** Few-byte and mid-size calls run in blocks back to back, the first untimed (see interleavedTimes). */
export const LATENCY_BLOCK = 3;

/**
 * This rank's seconds per call of each of `algorithms` on `bytes` (host memory; one figure per call alone, one per block of several), timed
 * in turn, round after round, each round starting with the next schedule, so that a burst of
 * load falls on every schedule alike (the fit of call against α and o, whose message counts
 * differ by a few, would take it for a per-message cost) and none always follows the same
 * other. `untimed` rounds first (first use of a size: buffers, pools, the compiler). With
 * `block` > 1 each entry is that many calls back to back, the first untimed (a rank that left
 * the previous schedule early counts its wait for the last peer to join in that call), and its
 * figure is the stream's time per call after it: from the first call's end to the last's, over
 * the calls between, as webccl-perf and nccl-tests time calls in a row and bench/tune-sweep.ts
 * its blocks. Not each call's own time: in a stream the ranks do not join a call together, and
 * a one-hop schedule's late rank finds its peers' bytes already there and only folds them, while
 * the early one waits for it; on ranks sharing a CPU the two alternate call by call (2 shm ranks
 * at 512 KiB, direct exchange: calls of 0.6 and 2.1 ms in a stream of 1.3 ms a call), so a lower
 * quartile of single calls priced the direct exchange's bytes at a fraction of what they cost
 * (test/tune-calibrate-stream). Its median over blocks, not one mean over all of them: a loaded
 * host stalls single calls 10-100x (an 8-byte call of 83 ms among 0.3 ms ones at load average
 * 12 on 2 cores), which a median over the blocks drops.
 */
export async function interleavedTimes(comm: CalibrationComm, algorithms: readonly string[], bytes: number, rounds: number, untimed: number, block: number, run: (data: Float32Array, name: string) => Promise<void> = (data, name) => comm.allReduce(data, name)): Promise<number[][]> {
  return runTimes(algorithms.map((algorithm) => ({ algorithm, bytes })), rounds, untimed, block, run);
}

/** interleavedTimes over runs of any sizes: each round times every run in turn, starting with the next one. */
export async function runTimes(runs: readonly Run[], rounds: number, untimed: number, block: number, run: (data: Float32Array, name: string, chunkBytes?: number, collective?: Run['collective']) => Promise<void>, lineUp?: () => Promise<unknown>, buffers = new Map<number, Float32Array>()): Promise<number[][]> {
  const dataOf = (bytes: number) => buffers.get(bytes) ?? buffers.set(bytes, new Float32Array(Math.max(1, Math.floor(bytes / 4)))).get(bytes)!;
  const times = runs.map(() => [] as number[]);
  for (let round = -untimed; round < rounds; round++) {
    const first = Math.max(0, round) % runs.length;
    for (const i of runs.map((_, k) => (k + first) % runs.length)) {
      // Zeros from their making (a fresh Float32Array), and zeros stay zeros through every sum,
      // so repeated calls in place never overflow. Not zeroed again before each call: where ranks
      // share the CPU (one process, or more ranks than cores) the others' zeroing ran inside this
      // rank's clock, waiting for them to join. 4 shm ranks in one process (pt16): 16 MiB ring
      // calls of 47-94 ms (rank medians) with a zeroing before each, 35-56 without, so the 16 MiB
      // point came out over what the sweep's calls (no zeroing) took.
      const data = dataOf(runs[i]!.bytes);
      // Every rank starts the block together (see midSamples), where the caller asks.
      if (lineUp) await lineUp();
      let since = performance.now();
      for (let call = 0; call < block; call++) {
        await run(data, runs[i]!.algorithm, runs[i]!.chunkBytes, runs[i]!.collective);
        // A block's first call absorbs the wait for the last peer to join (when there are
        // others). Not a sync allreduce after it, tried: the first call after one is a call
        // alone (its whole latency), where the next ones overlap the previous (an 8-byte direct
        // exchange on 2 shm ranks calibrated at 109 us so, 48-80 us in the sweep's blocks).
        if (call === 0 && block > 1) since = performance.now();
      }
      if (round >= 0) times[i]!.push((performance.now() - since) / 1000 / Math.max(1, block - 1));
    }
  }
  return times;
}

/**
 * The samples of `algorithms` on `bytes` from the block times of one or more passes (each
 * interleavedTimes' result): each figure the lowest of the passes' figures on this rank, then the
 * fastest rank's, or with `collective` (a rooted schedule's runs, a half's) halfway between the
 * fastest rank's and the slowest's (agreedSeconds; a pass each where a schedule is timed at
 * several points of the calibration: the board's few-byte calls, boardFewSamples).
 */
export async function agreedSamples(comm: CalibrationComm, algorithms: readonly string[], bytes: number, passes: readonly (readonly (readonly number[])[])[], gamma: number, figures: readonly Figure[] = ['median'], collective?: TimedCollective): Promise<Sample[]> {
  const own = figures.flatMap((figure) => algorithms.map((_, i) => ({ seconds: Math.min(...passes.map((times) => figureOf(figure)(times[i]!))), ...(collective !== undefined && { collective }) })));
  const agreed = await agreedSeconds(own, (values) => comm.maxAll(values));
  return figures.flatMap((figure, f) => algorithms.map((algorithm, i) => ({
    ...sampleOf(comm, algorithm, bytes, agreed[f * algorithms.length + i]!.seconds, gamma, undefined, collective), ...(figure === 'lower' && { lower: true }),
  })));
}

/** Each of this rank's `seconds` as the fastest rank's (the maximum of the negated): the same figures on every rank. */
export async function fastestRanks(comm: Pick<CalibrationComm, 'maxAll'>, seconds: readonly number[]): Promise<number[]> {
  return Array.from(await comm.maxAll(Float32Array.from(seconds, (t) => -t)), (t) => -t);
}

/** The function of a run's timed calls that gives its `figure` (Figure). */
export function figureOf(figure: Figure): (values: readonly number[]) => number {
  return figure === 'median' ? median : lowerQuartile;
}

/**
 * The β curve's mid-size figure: the lower quartile of the timed calls, not their median. On a
 * loaded host a mid-size call either runs through (1-2.5 ms for 64 KiB-1 MiB on 2 tcp ranks)
 * or waits for a time slice (10-75 ms), a mix whose median flips with the moment's load (half
 * or more of the 1 MiB calls of one calibration at load average 27, few in the sweep minutes
 * later); predicted from a stalled median, the calls that run through were priced 10-30x over.
 * The larger runs have no such choice (a call of many slices always waits some) and keep theirs.
 */
export function lowerQuartile(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 4)]!;
}
