// The plan of the host-memory runs: which schedules at which sizes (the few bytes, the mid sizes
// of the β curves, the larger runs, the ring's reach run) and the constants that size them.
import { directReachBytes } from '../../collectives/direct-allreduce.js';
import { DEFAULT_PIPELINE_DEPTH } from '../../collectives/pipeline.js';
import { callTraffic } from '../model.js';
import type { CalibrationComm, Run, Figure } from './types.js';
import { trafficOf } from './traffic.js';

/** Untimed rounds of the few-byte runs before the timed ones (warm-up, the large runs' garbage). */
export const UNTIMED_ROUNDS = 2;

/** The latency-bound runs' size: a few bytes. */
export const FEW_BYTES = 8;

/**
 * The largest allreduce timed: where the sweeps (bench/tune-sweep.ts -e 16M) and the board's
 * curve (BOARD_CURVE_BYTES) end, past the caches at any rank count. shm's 8 MiB chunk put its four-
 * and sixteen-chunk runs at 32 and 128 MiB: at 8 ranks the 32 MiB runs took 2.8 s of a 8.4 s
 * calibration (the 128 MiB ones are skipped there, SLOW_LINK_SECONDS), at 2 ranks both ran.
 */
const LARGEST_RUN_BYTES = 16 << 20;

/**
 * The allreduces timed: ring and tree, each at a few bytes, half a chunk, four chunks and
 * sixteen (past the caches, where large calls live; a few repeats only: they take longest), none
 * past LARGEST_RUN_BYTES (a larger chunk's runs there once).
 */
export function plannedRuns(chunk: number, ranks: number, repeats: number): (readonly [string, number, number])[] {
  const few = Math.max(3, repeats >> 1);
  // The direct exchange's one hop of n-1 messages, against the ring's and tree's several hops
  // of one message each at the same sizes, is what tells α from o and the per-call cost; its
  // larger run is timed on GPU memory only (plannedGpuRuns).
  const direct = Math.max(1024, Math.floor(directReachBytes(chunk, ranks) / 1024) * 1024);
  // The few-byte runs alone fix call, α and o (fitLatencyBandwidth): more repeats, they are quick.
  const many = 2 * repeats + 1;
  const large = [...new Set([chunk / 2, 4 * chunk, 16 * chunk].map((bytes) => Math.min(bytes, LARGEST_RUN_BYTES)))];
  return [
    ...['ring', 'tree'].flatMap((algorithm) => [[algorithm, FEW_BYTES, many] as const, [algorithm, large[0]!, repeats] as const, ...large.slice(1).map((bytes) => [algorithm, bytes, few] as const)]),
    ['direct', FEW_BYTES, many], ['direct', direct, repeats],
  ];
}

/**
 * Call sizes timed for the β curve besides plannedRuns' (host memory, ring and tree): the mid
 * sizes, a factor of 4 apart, whatever the chunk (shm's 8 MiB chunk put its half-chunk run at
 * 4 MiB, and nothing below); plannedRuns' 4 MiB (a half or four chunks by default) goes on.
 */
export const CURVE_BYTES = [64 << 10, 256 << 10, 1 << 20] as const;

/**
 * The board's own curve (where the transport has one): the mid sizes, 4 MiB and 16 MiB. It sends
 * no message, so the link's α, o and β say nothing of it; these points alone price its bytes
 * (ownOnly), beyond its own fixed cost (its few-byte runs, boardFixed), and its calls below
 * them are priced at the first point's figure, above them at the last's. Without the 16 MiB
 * point its 8-16 MiB calls were priced at the 4 MiB point's β, whose calls' working set stays
 * in the L3 where theirs does not: at 2 shm ranks they measured 1.4-27x that (tune10's sweeps).
 */
export const BOARD_CURVE_BYTES = [...CURVE_BYTES, 4 << 20, 16 << 20] as const;

/**
 * A board point's figure: the lower quartile of its blocks at the mid sizes, as the ring's and
 * tree's (a call inside one time slice either runs through or waits), their median past them,
 * as the ring's and tree's larger runs: a 4 MiB board call (8 arrivals on its thread, several
 * time slices) always waits some, and its fastest block of 4 priced the board's 2-16 MiB calls
 * 21-37% under in every sweep (`bench/tune-sweep.ts shm,tcp 2,4 -e 16M -r 3`, 7 runs, and the
 * standard sweep, 2 runs).
 */
export function boardFigure(bytes: number): Figure {
  return bytes > CURVE_BYTES.at(-1)! ? 'median' : 'lower';
}

/**
 * The direct exchange's curve starts a factor of 4 below the mid sizes: its whole-buffer messages
 * cost more per byte the larger they are (2 tcp ranks, in the sweep's blocks: 32 KiB calls about
 * 0.6 ns/B beyond their fixed costs, 128 KiB ones 1.1), and its calls below its first point are
 * priced at that point's β: from a first point at 64 KiB (1.7-2.8 ns/B), its 32 KiB calls were
 * priced 112-146 µs against 74-98 measured, and `auto` ran the ring there (tune17). A point at
 * 4 KiB below that: ntcp's cost steps where its records pass 16 KiB (the JS thread reads smaller
 * ones itself, jsread43), so at 2 ntcp ranks the 16 KiB point said 4.6-6.9 ns/B and 4 KiB calls,
 * which ran in 37-69 µs, were priced 47-80 (docs/PERFORMANCE.md, deliver44, step45). Since
 * jsread46 that step is where records pass 64 KiB, past the 16 KiB point; the 4 KiB point stays
 * (a block of 3 calls a mid-size round) for a world whose step lies lower.
 */
const DIRECT_CURVE_BYTES = [4 << 10, 16 << 10, ...CURVE_BYTES] as const;

/**
 * The sizes the direct exchange's own curve is measured at: DIRECT_CURVE_BYTES inside its formula's
 * domain, and its domain's largest size (plannedRuns' larger direct run). Its whole-buffer
 * messages cost a β of their own (3-4x the ring's per byte on 4 inproc ranks, which moved the
 * one β 2-20x when it was fitted with them): priced on the ring's and tree's curve, 2 shm
 * ranks' 128-512 KiB direct calls measured 1.5-4x their prediction and 1.5-4x the ring, which
 * the model then picked over it.
 */
export function directCurveBytes(comm: Pick<CalibrationComm, 'size' | 'chunkBytes' | 'pipelineDepth'>): number[] {
  const edge = plannedRuns(comm.chunkBytes, comm.size, 1).find(([algorithm, bytes]) => algorithm === 'direct' && bytes !== FEW_BYTES)![1];
  const sizes = [...DIRECT_CURVE_BYTES.filter((bytes) => bytes < edge), edge];
  return sizes.filter((bytes) => callTraffic('direct', { collective: 'allReduce', bytes, ranks: comm.size, chunkBytes: comm.chunkBytes }) !== undefined);
}

/**
 * The rooted runs: a broadcast from rank 0 of four chunks (at most LARGEST_RUN_BYTES) by each
 * schedule of rooted calls, timed among the larger runs, back to back as they are, each the one
 * point of its schedule's rooted curve (CostParams.rootedCurves), which prices its broadcasts and
 * reduces at every size. A rooted call sends one way at a time on each link, where the allreduces
 * keep both ways busy (the double binary tree with two trees' pieces, the ring with its pipelines'
 * messages beside each other's), so per byte they ran apart: on an even 1 Gbit rack of 4 tcp
 * ranks the tree broadcast's calls at 7.6 ns/B where the tree allreduce's curve said 10.4-11.8
 * (docs/PERFORMANCE.md, rooted40); on 4 tcp ranks of one host the ring's 4-16 MiB broadcasts,
 * priced on the ring allreduce's curve, +16..+45% in four sweeps, -9..+29% on their own curve,
 * and at 2 ranks, where each is one hop, the rooted calls' |error| median 97.5% -> 29% (tcp,
 * four calibrations) and 60% -> 17% (ntcp, two) at 64 KiB-16 MiB (ringroot41). Only where the
 * comm can broadcast, and not where a board serves every rank: its own broadcast and
 * reduce, on its own curve, are priced 2.5-7x under the tree at 8 shm ranks (64 KiB-64 MiB,
 * webccl-perf --explain) and are auto's choice there, and the tree's run took 1.3 s of a 10.7 s
 * calibration (8.2-8.8 s without it). The ring's is optional (Run.optional: left out where the
 * larger runs' first calls are slow): at 8 ntcp ranks on 2 cores, calibrations took 9.3-10.6 s
 * with it, 9.4-9.5 without.
 */
export function rootedRuns(comm: Pick<CalibrationComm, 'size' | 'chunkBytes' | 'broadcast' | 'board'>): Run[] {
  if (comm.broadcast === undefined || comm.size < 2 || comm.board === true) return [];
  const bytes = Math.min(4 * comm.chunkBytes, LARGEST_RUN_BYTES);
  return [{ algorithm: 'tree', bytes, collective: 'broadcast' }, { algorithm: 'ring', bytes, collective: 'broadcast', optional: true }];
}

/**
 * The ring's call past LARGEST_RUN_BYTES whose point ends its own curve (ringReach), where its
 * cut there differs from the largest run's.
 */
const RING_REACH_BYTES = 4 * LARGEST_RUN_BYTES;

/**
 * One ring run at RING_REACH_BYTES, a point of the ring's own curve alone (ownOnly), where the
 * largest planned run (`largest` bytes) cuts the ring into fewer chunk pipelines than run at once
 * (the depth) and the reach run into larger messages: shm's 8 MiB chunk at 4 ranks (16 MiB: 2
 * pipelines of 2 MiB messages; 64 MiB: 4 of 4 MiB), not 2 shm ranks (4 pipelines at 16 MiB),
 * tcp's 1 MiB chunk nor 8 shm ranks (2 MiB messages at both). Past 16 MiB the sweep's 4-rank
 * ring cost less per link byte than the 16 MiB point priced: over 12 sweeps the 16 MiB point
 * priced 64 MiB 36% and 256 MiB 49% off (median |error|, nearly all over), with the 64 MiB point
 * 19% and 30%; its first call on fresh buffers made calibration ~1.6 s longer
 * (docs/PERFORMANCE.md, big22). At 2 ranks the sweep's cost per byte falls past 16 MiB too, but
 * calibration's 64 MiB run came out over the sweep's (+16 to +80%) and priced 256 MiB worse
 * (median +51% against +31%): not run there. Left out where the largest runs' first calls are
 * slow (largeSamples, SLOW_LINK_SECONDS), as the runs past 4 chunks are: at 8 ntcp ranks on 2
 * cores (a 32 MiB chunk, so the reach run was not past 4 chunks and always ran) its first call
 * took 1.5 s and its blocks 1.5 more, 3 s of an 11-12 s calibration, and its point priced the
 * ring within 0.47-1.09x of the 16 MiB point's β (median 0.91, 14 calibrations; cal27).
 */
export function ringReach(comm: CalibrationComm, largest: number): Run | undefined {
  if (RING_REACH_BYTES <= largest || comm.size < 2) return undefined;
  const [at, reach] = [largest, RING_REACH_BYTES].map((bytes) => trafficOf(comm, 'ring', bytes));
  // The ring's own messages are pipelines × 2(n - 1) on every rank (ringAllReduceTraffic).
  const pipelines = at!.referenceSends / (2 * (comm.size - 1));
  const fewer = pipelines < (comm.pipelineDepth ?? DEFAULT_PIPELINE_DEPTH);
  return fewer && reach!.referenceBytes > at!.referenceBytes ? { algorithm: 'ring', bytes: RING_REACH_BYTES, ownOnly: true } : undefined;
}
