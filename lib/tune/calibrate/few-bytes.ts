// The few-byte runs of the schedules of messages: passes apart in time, the fastest kept, so that
// one of the host's slow phases does not set call, α and o.
import { median } from '../median.js';
import { algorithmsServing } from '../../collectives/algorithms.js';
import { HALF_COLLECTIVES, type TimedCollective } from '../params.js';
import type { CalibrationComm, Sample } from './types.js';
import { UNTIMED_ROUNDS, FEW_BYTES, rootedRuns } from './plan.js';
import { LATENCY_BLOCK, agreedSamples, fastestRanks, interleavedTimes } from './timing.js';
import { untimedCalls } from './warm-up.js';

/**
 * Passes of the few-byte rounds, FEW_GAP_SECONDS of untimed few-byte calls between two (the
 * code stays warm, the clock moves on); the pass kept is the one whose schedules' medians sum to
 * the least (sums of the agreed figures, the same on every rank, so every rank keeps the same pass),
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

/**
 * The block times (interleavedTimes) of `algorithms`' few-byte calls in the pass kept, after the
 * warm-up and before any larger run (see calibrate). Rounds spread between the larger runs timed
 * the first calls' warm-up (a first ring call took 0.6 s on inproc) and the collection of the
 * large runs' buffers (12 ms for an 8-byte ring call right after a 4 MiB one, against 0.2 ms),
 * which fell mostly on the round's first schedule, the ring: its median doubled, and so did α.
 * Each figure taken from them is the fastest rank's (agreedSamples): calls follow each other
 * with no barrier, so a rank that left the previous block early counts the wait for the last
 * peer to join; the last to join waited for no one. `perCall`: the warm-up's seconds a call
 * (untimedCalls), to cut the gaps' batches where calls are slow; `run`: one few-byte call of a
 * schedule, where it is not the host's (the GPU runs').
 */
export async function fewBytePass(comm: CalibrationComm, algorithms: readonly string[], rounds: number, perCall: number, run?: (algorithm: string) => Promise<void>): Promise<number[][]> {
  const passes: number[][][] = [];
  for (let pass = 0; pass < FEW_PASSES; pass++) {
    if (pass > 0) await untimedCalls(comm, algorithms, Infinity, FEW_GAP_SECONDS, { perCall, ...(run && { run }) });
    passes.push(await interleavedTimes(comm, algorithms, FEW_BYTES, rounds, pass === 0 ? UNTIMED_ROUNDS : 1, LATENCY_BLOCK, run && ((_, algorithm) => run(algorithm))));
  }
  // Each pass's medians as agreedSamples takes them (the fastest rank's), summed: the same sums
  // on every rank, so every rank keeps the same pass. One agreement after another (collectives in one order).
  const sums: number[] = [];
  for (const times of passes) sums.push((await fastestRanks(comm, times.map(median))).reduce((sum, t) => sum + t, 0));
  return passes[sums.indexOf(Math.min(...sums))]!;
}

/** The host's few-byte samples of the schedules of messages (FEW_ALGORITHMS), medians and lower quartiles, from the pass kept. */
export async function fewByteSamples(comm: CalibrationComm, rounds: number, gamma: number, perCall: number): Promise<Sample[]> {
  return agreedSamples(comm, FEW_ALGORITHMS, FEW_BYTES, [await fewBytePass(comm, FEW_ALGORITHMS, rounds, perCall)], gamma, ['median', 'lower']);
}

/**
 * Untimed few-byte broadcasts of each rooted schedule before its passes (rootedFewSamples):
 * ROOTED_WARM_CALLS of them where they fit in ROOTED_WARM_LONGEST at the fastest pace seen, else
 * as many as fit in ROOTED_WARM_SECONDS (untimedCalls). The warm-up runs allreduces, and a
 * broadcast's own path speeds up over its first thousands of calls: 4 tcp ranks on 2 vCPUs, the
 * tree's few-byte broadcasts (agreed figures, two calibrations each) 330-474 µs after 256 warm
 * calls, 265-282 after 1024, 209-238 after 2048 and 201-213 after 4096, where a sweep's warm
 * streams took 175-215 (docs/PERFORMANCE.md, rootfew42).
 */
const ROOTED_WARM_CALLS = 2048;
const ROOTED_WARM_SECONDS = 0.3;
const ROOTED_WARM_LONGEST = 1.5;

/**
 * The most ranks at which few-byte calls are timed for a fixed part of their own (ownFewSamples:
 * the rooted schedules' broadcasts, the halves', the mesh's). At 8 ntcp ranks on 2 vCPUs the
 * rooted ones took the few-byte phase from 2.37-2.61 s to 2.90-3.90 and calibration to 8.32 and
 * 10.27 s (8.34-8.36 with the code before; the goal is under 10), and that world's fits move more
 * between calibrations than the offset moves the price: a broadcast sweep of 8 B-32 KiB priced
 * 28% off in median with the offset, 27% without it, by the same calibration (108% by another,
 * before rootfew42).
 */
const OWN_FEW_MOST_RANKS = 4;
/** Untimed few-byte calls before a schedule's own passes (ownFewSamples): untimedCalls' calls, seconds and longest. */
interface FewWarmUp {
  readonly calls: number;
  readonly seconds: number;
  readonly longest?: number;
}

/**
 * The few-byte calls of `algorithms` (`run`: on host memory unless given) timed for a fixed part of
 * their own, outside the fit, up to OWN_FEW_MOST_RANKS (none past it): untimed ones first
 * (`warm`), then passes as the allreduces' (fewBytePass), medians and lower quartiles, agreed as
 * agreedSamples agrees them (with `collective`, halfway between the fastest rank's figure and the
 * slowest's).
 */
async function ownFewSamples(comm: CalibrationComm, algorithms: readonly string[], rounds: number, gamma: number, warm: FewWarmUp, run?: (algorithm: string) => Promise<void>, collective?: TimedCollective): Promise<Sample[]> {
  if (comm.size > OWN_FEW_MOST_RANKS) return [];
  const { perCall } = await untimedCalls(comm, algorithms, warm.calls, warm.seconds, { ...(run && { run }), ...(warm.longest !== undefined && { longest: warm.longest }) });
  return agreedSamples(comm, algorithms, FEW_BYTES, [await fewBytePass(comm, algorithms, rounds, perCall, run)], gamma, ['median', 'lower'], collective);
}

/**
 * The few-byte broadcasts of each rooted schedule (rootedRuns: the tree and the ring, where the
 * comm can broadcast and no board serves every rank; up to OWN_FEW_MOST_RANKS), medians and
 * lower quartiles, in passes as the allreduces' (fewBytePass) and after them, each figure halfway
 * between the fastest rank's and the slowest's, as the rooted larger runs' (agreedSamples with
 * the collective, agreedSeconds): what their fixed part costs
 * (CostParams.rootedOffsets: fixedOffsetsOf of these). Priced on the allreduces' fit of call, α
 * and o, a broadcast's few bytes cost what an allreduce's call costs plus its hops: 4 tcp ranks
 * on 2 vCPUs priced every 8 B-32 KiB broadcast and reduce at 340-375 µs, which took 165-275
 * (docs/PERFORMANCE.md, rootfew42).
 */
export async function rootedFewSamples(comm: CalibrationComm, rounds: number, gamma: number): Promise<Sample[]> {
  const algorithms = rootedRuns(comm).map((run) => run.algorithm);
  if (algorithms.length === 0) return [];
  const data = new Float32Array(FEW_BYTES / 4);
  const run = (algorithm: string) => comm.broadcast!(data, algorithm);
  return ownFewSamples(comm, algorithms, rounds, gamma, { calls: ROOTED_WARM_CALLS, seconds: ROOTED_WARM_SECONDS, longest: ROOTED_WARM_LONGEST }, run, 'broadcast');
}

/**
 * Untimed few-byte calls of each half of the allreduce before its passes (halfFewSamples):
 * HALF_WARM_CALLS of them, or as many as fit in HALF_WARM_SECONDS. Fewer than the rooted
 * schedules' (their code is the ring allreduce's halves, which the allreduces' warm-up ran).
 */
const HALF_WARM_CALLS = 512;
const HALF_WARM_SECONDS = 0.2;

/**
 * The few-byte reduce-scatters and all-gathers of each schedule of messages that runs them (the
 * ring), where the comm can run them and no board serves every rank, up to OWN_FEW_MOST_RANKS
 * (the 8-rank calibration's time), medians and lower quartiles, in passes as the allreduces'
 * (fewBytePass) and after them, each figure halfway between the fastest rank's and the slowest's
 * as the rooted runs' (agreedSeconds): what their fixed part costs (CostParams.halfOffsets:
 * fixedOffsetsOf of these). Priced on the allreduces' fit, a reduce-scatter's few bytes cost one
 * call and n-1 α: 4 ntcp ranks on 2 vCPUs priced the ring's 64 B-32 KiB reduce-scatters and
 * all-gathers at 798-858 µs, which took 469-796 (docs/PERFORMANCE.md, halves46).
 */
export async function halfFewSamples(comm: CalibrationComm, rounds: number, gamma: number): Promise<Sample[]> {
  if (!comm.halfCall || comm.board === true) return [];
  const samples: Sample[] = [];
  for (const collective of HALF_COLLECTIVES) {
    const algorithms = algorithmsServing(collective).filter((row) => row.board !== true).map((row) => row.name);
    if (algorithms.length === 0) continue;
    const run = (algorithm: string) => comm.halfCall!(collective, FEW_BYTES, algorithm);
    samples.push(...(await ownFewSamples(comm, algorithms, rounds, gamma, { calls: HALF_WARM_CALLS, seconds: HALF_WARM_SECONDS }, run, collective)));
  }
  return samples;
}

/** Untimed few-byte mesh calls before its passes (meshFewSamples): as many as fit in MESH_WARM_SECONDS, at most MESH_WARM_CALLS. */
const MESH_WARM_CALLS = 1024;
const MESH_WARM_SECONDS = 0.3;

/**
 * The mesh allreduce's few-byte calls on one host, where the agreed mesh threshold lets 'auto' run
 * it (3 ranks up to OWN_FEW_MOST_RANKS), medians and lower quartiles in passes as the other
 * schedules' (ownFewSamples), each the fastest rank's figure as theirs: what its fixed part costs
 * beyond the fit (CostParams.fixedOffsets.mesh, fixedOffsetsOf), kept out of the fit
 * (offsetOnly). Priced on the fit alone, its two hops of n-1 messages came out under the direct
 * exchange's one (4 KiB: 323-411 µs against 430-485 in four calibrations), where they take
 * 1.3-2x as long: 4 ntcp ranks of one host ran it at 4-16 KiB in 5 of 9 calibrate-and-sweep pairs
 * (1.33-1.98x the fastest schedule's time), 3 ranks at 4 KiB in 2 of 3 (2.05x, 2.18x;
 * docs/PERFORMANCE.md, meshfew48). Its bytes stay on the pooled curve: a curve of its own from its
 * mid-size blocks (tried) priced them 1.5-4x over at 8 ranks and 1.2-4.7x over at 64 KiB-1 MiB
 * at 3, where auto then left it for slower schedules. Ranks on one host only: across hosts its
 * bytes cost less than that curve says (ntcp22), which its unpriced fixed part had made up for;
 * with the offset, auto left it where it led (4 ranks in network namespaces, three pairs: within
 * 1.10 of the best at 7 of 12 points against 9 of 12).
 */
export async function meshFewSamples(comm: CalibrationComm, rounds: number, gamma: number): Promise<Sample[]> {
  if (comm.oneHost !== true || comm.size < 3 || !((comm.meshThresholdBytes ?? 0) > 0)) return [];
  const samples = await ownFewSamples(comm, ['mesh'], rounds, gamma, { calls: MESH_WARM_CALLS, seconds: MESH_WARM_SECONDS });
  return samples.map((sample) => ({ ...sample, offsetOnly: true }));
}
