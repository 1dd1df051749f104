// Calibration: a few microbenchmarks on the actual world that give the cost model its
// parameters (params.ts). Every rank measures its own figures, then all take the largest of
// each over the ranks (a ring is as fast as its slowest link, a reduction waits for the slowest
// rank) and fit the same parameters from them, so every rank ends with the same parameters,
// which rank 0 writes to a tuning file.
//   the slow rank (3 ranks or more, not all on one host, a comm that can probe): every pair of
//      ranks exchanges a block, and a rank clearly slower with every peer is placed at a root/leaf
//      of the double binary tree before anything is timed (placement.ts; CostParams.slowRank).
//   γ: folding one chunk of float32 into another in host memory (the installed CPU reducer).
//   codecs: encoding and decoding a quarter chunk with each hop codec's host implementation.
//      Both timed by one rank at a time while its peers wait in a barrier (inTurn): on one host by rank 0 alone.
//   warm-up: before the allreduces are timed, a thousand untimed few-byte calls of every schedule
//      (or half a second of them where a thousand would take over 3 s), so that a fresh process's
//      collective code is optimised (WARM_CALLS); then the board's, 20,000 or 0.3 s of them
//      (BOARD_WARM_CALLS).
//   the few-byte runs: three passes 0.15 s apart, the fastest pass kept (fewByteSamples), so that
//      one of the host's slow phases does not set call, α and o.
//   call, α, o, β: allreduces with the ring and the tree at a few sizes (a few bytes, half a chunk,
//      four and sixteen chunks) and the direct exchange at a few bytes, the schedules of one size
//      in turn (the larger sizes every size in each round: largeSamples), each the fastest
//      rank's median of some repetitions; each run's traffic (the
//      formulas beside the schedules) gives one equation time − reducedBytes·γ = call +
//      messages·α + sends·o + linkBytes·β, and non-negative least squares solve them: call, α
//      and o from the few-byte runs (the direct exchange's n-1 messages at once against the
//      ring's and tree's in sequence tell α from o), β from the others (fitLatencyBandwidth). Measuring
//      the schedules themselves prices what a message costs inside a call (pipelining,
//      the communicator's own work), which a bare ping-pong would not.
//   each schedule's offset (fixedOffsetsOf): what its own few-byte run took beyond what the fit
//      prices it at (negative where one α over-prices its hops), so that its fixed part, in the
//      curve's points and in the model, is its own few-byte figure.
//   β by size (betaCurve): the ring and tree also at 64 KiB, 256 KiB and 1 MiB (mid sizes,
//      where one β was 2-5x off either way; the lower quartile of blocks of calls), and at each
//      of those and the larger sizes, what its runs took beyond call, α and o per byte on their
//      link (curveOf); and the same of each schedule's runs alone, its own curve (betaCurves),
//      the direct exchange's from its own runs at 16 KiB and the mid sizes inside its domain (directCurveBytes).
//   the board (where every rank's transport has one): its own fixed cost from its few-byte runs,
//      timed after the others' in a stream of its own (boardFixed, boardFewSamples), and its own
//      curve at BOARD_CURVE_BYTES beyond it; its other collectives' fixed costs the same way
//      (boardCollectiveSeconds, where the comm gives boardCall); none of it enters the fit of
//      call, α, o and β (it sends no message).
//   π and the switch round trip (only where a switch is configured): switch allreduces of two
//      sizes; what each took beyond call + 2α + 2o + bytes·β is round trip + packets·π, two
//      equations for two unknowns.
//   GPU memory (only where every rank has a device): γ_gpu from timing the device's fold
//      kernel at two sizes (the slope: per byte, without the submission), then untimed few-byte
//      GPU calls (the GPU path's own warm-up, as the host's), then the allreduces again on GPU
//      buffers, fitted like the host ones (α stays the host's: the link's latency); what the fit
//      gives beyond the host's call, o and β is the GPU call's extra per call, per message sent
//      and per byte staged.
import type { SwitchExponents } from '../collectives/switch-allreduce.js';
import { DEFAULT_PIPELINE_DEPTH } from '../collectives/pipeline.js';
import { CODECS } from '../collectives/codecs.js';
import type { Codec } from '../memory/codec.js';
import { cpuReducer } from '../cpu/cpu-reducer.js';
import { hostCodec } from '../cpu/host-codec.js';
import { betaAt, callTraffic, fixedSeconds, referenceSendsOf } from './model.js';
import { median } from './median.js';
import { slowRankOf } from './placement.js';
import { BOARD_COLLECTIVES, BOARD_JS_THREAD_BYTES, DEFAULT_COST_PARAMS, type BetaPoint, type BoardCollective, type BoardCostParams, type CodecRate, type CostParams, type GpuCostParams, type ReferenceCostParams } from './params.js';

/** What calibration needs of a communicator (the perf CLI adapts one). */
export interface CalibrationComm {
  readonly rank: number;
  readonly size: number;
  /** The agreed chunk size (bytes per pipelined message). */
  readonly chunkBytes: number;
  /** The agreed pipeline depth (undefined: the default). */
  readonly pipelineDepth?: number;
  /** The transport's single-copy threshold (Transport.referenceBytes; undefined: nothing goes by reference): what a message by reference costs is timed too. */
  readonly referenceBytes?: number;
  /** An in-place float32 sum allreduce of `data` with the named algorithm (cut at `chunkBytes`, where given: referenceProbe). */
  allReduce(data: Float32Array, algorithm: string, chunkBytes?: number): Promise<void>;
  /** Element-wise maximum of every rank's `values` (the same result on every rank). */
  maxAll(values: Float32Array): Promise<Float32Array>;
  /** A switch is configured (agreed, so alike on every rank): its allreduce is timed too. */
  readonly aggregator?: boolean;
  /** Values per switch packet the job agreed (the switch's formula counts its packets; undefined: the formula's default). */
  readonly switchPacketValues?: number;
  /** Where the agreed configuration has float32 switch calls agree their exponents (the switch's formula counts the lead's packets in the stream; undefined: the link). */
  readonly switchExponents?: SwitchExponents;
  /** The communicator's GPU device, when it has one: GPU-memory figures are measured too. */
  readonly gpu?: GpuCalibration;
  /**
   * Every rank runs on this one host (the agreed configuration says so: a board, which every rank
   * maps, or one process): rank 0 alone times the host work, γ and the codecs (inTurn).
   */
  readonly oneHost?: boolean;
  /**
   * Every rank runs on one thread (inproc): the fit prices every rank's messages (CostParams.oneThread),
   * and the parameters say so.
   */
  readonly oneThread?: boolean;
  /** Every rank's transport offers a collective board (the agreed configuration's): its allreduce gets a curve of its own. */
  readonly board?: boolean;
  /**
   * A float32 sum call of `collective` on the board, `bytes` per rank as the model states the call
   * (lib/comm/tuning.ts runs it on the communicator), where there is a board: each gets a fixed
   * cost of its own (BoardCostParams.collectives). Absent: they are priced at the allreduce's.
   */
  boardCall?(collective: BoardCollective, bytes: number): Promise<void>;
  /**
   * Every rank's link figure in each pass of the probe of lib/tune/placement.ts (linkFigures), the
   * same lists on every rank. Absent: no probe, and the tree keeps its identity labels.
   */
  linkFigures?(): Promise<readonly (readonly number[])[]>;
  /** Places the world rank behind the slowest link at a root/leaf of the double binary tree for the calls that follow (undefined: the identity). */
  placeTree?(slowRank: number | undefined): void;
}

/** What calibration needs of a device (lib/comm/tuning.ts adapts the communicator's). */
export interface GpuCalibration {
  /** Seconds one in-place float32 sum of `bytes` into another takes on the device, submission and wait included. */
  fold(bytes: number): Promise<number>;
  /** An in-place float32 sum allreduce of `bytes` held in a GPU buffer, with the named algorithm. */
  allReduce(bytes: number, algorithm: string): Promise<void>;
  /** Frees what the runs allocated on the device. */
  release(): void;
}

export interface CalibrationOptions {
  /** Timed repetitions of each allreduce (default 5; the median counts). */
  readonly repeats?: number;
}

export interface Calibration {
  /** The parameters every rank agreed on (the largest over ranks). */
  readonly params: CostParams;
  /** This rank's own figures, before the maximum. */
  readonly own: CostParams;
  /** Wall time the calibration took on this rank, in seconds. */
  readonly seconds: number;
  /**
   * Of which each host-memory phase, in seconds (host rates, warm-up, few-byte, mid and larger
   * runs), in the order run: where a calibration's time goes (issue 15's goal is under 10 s).
   */
  readonly phases: Record<string, number>;
  /** Of which the switch runs and the GPU-memory runs, where there were any. */
  readonly switchSeconds?: number;
  readonly gpuSeconds?: number;
}

/** Seconds per byte of `run` over `bytes` bytes: the fastest of a few runs (local work has no peers to wait for). */
function localRate(bytes: number, run: () => void): number {
  run();
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    run();
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return best / bytes;
}

/** The hop codecs with a host rate to time: not the identity, nor the integer scheme (switchml), which quantizes once per call, not per hop. */
function hopCodecs(): readonly Codec[] {
  return CODECS.filter((codec) => !codec.identity && (codec.format.kind === 'half' || codec.format.kind === 'blocks'));
}

function codecRates(bytes: number): Record<string, CodecRate> {
  const count = bytes / 4;
  const x = Float32Array.from({ length: count }, (_, i) => Math.sin(i));
  const out = new Float32Array(count);
  const rates: Record<string, CodecRate> = {};
  for (const codec of hopCodecs()) {
    const host = hostCodec(codec.format);
    const residual = codec.errorFeedback ? new Float32Array(count) : undefined;
    const payload = host.encode(x, residual);
    // Into the same array every time, as a call's encodes reuse pooled ones (lib/cpu/cpu-memory.ts):
    // a new array's page faults are no part of the codec's rate.
    const reused = () => payload;
    rates[codec.name] = {
      encode: localRate(bytes, () => host.encode(x, residual, reused)),
      decode: localRate(bytes, () => host.decode(payload, count, out)),
    };
  }
  return rates;
}

/** γ and the codec rates: host work of this rank alone, timed on up to a chunk (at most 1 MiB) of float32. */
export interface HostRates {
  readonly gamma: number;
  readonly codecs: Record<string, CodecRate>;
}

/** What a rank that timed no host work counts (inTurn): 0 for γ and for every rate, so the maximum over ranks is the timing rank's. */
function untimedRates(): HostRates {
  return { gamma: 0, codecs: Object.fromEntries(hopCodecs().map((codec) => [codec.name, { encode: 0, decode: 0 }])) };
}

/** γ (the installed CPU reducer's fold) and every hop codec's rates (codecRates), on this rank. */
function hostRates(chunk: number): HostRates {
  const local = Math.min(chunk, 1 << 20) - (Math.min(chunk, 1 << 20) % 1024);
  const dst = new Uint8Array(local);
  const src = new Uint8Array(new Float32Array(local / 4).fill(1).buffer);
  const gamma = localRate(local, () => cpuReducer().accumulate('float32', 'sum', dst, src, local / 4));
  // A quarter of a chunk: the TypeScript encoders are slow, and a rate per byte needs no more.
  return { gamma, codecs: codecRates(Math.max(1024, local / 4)) };
}

/**
 * `measure` (host work timed on this rank alone: γ, the codecs) timed while no peer runs.
 * Where every rank is on one host (`oneHost`: agreed, so alike on every rank), rank 0 alone runs
 * it, once untimed (the compiler's first pass: 200-400 ms cold against 40-90 warm) and once
 * timed, between two barriers its peers wait in (maxAll: on a board or a socket a waiting rank
 * sleeps); the peers return undefined and take rank 0's figures through the maximum over ranks
 * that calibrate takes of every figure. Its peers' timings would have been of the same cores and
 * code: at 8 shm ranks on 2 cores the turns took 1.1-1.4 s of a calibration's 8-10.
 * Otherwise (ranks on hosts this rank cannot tell apart) every rank runs it once untimed at once,
 * then each times it in turn, rank 0 first, while the others wait in a barrier, so that no rank's
 * timing shares the CPU with its peers' work. Timed all at once, as before the turns, 8 shm ranks
 * on 2 cores measured the int8 encoder at 167-272 ns/B against 9.8 at 2 ranks and 8-12 in one
 * process (docs/PERFORMANCE.md, the tenth session's re-run): every timed run was preempted by
 * peers timing theirs or already polling in the first collective. A barrier before the first turn
 * too, so rank 0 does not time while its peers are still warming up. A rank's turn starts
 * TURN_PAUSE_MS after the barrier, by which its peers have left it and entered the next one: the
 * board's JS thread spins 200 µs there before it sleeps (lib/native/board.ts), on the cores the
 * turn times on; on one host rank 0's pass starts as late.
 */
/** A turn's pause after the barrier before its rank times (see inTurn). */
const TURN_PAUSE_MS = 2;

export async function inTurn<T>(comm: Pick<CalibrationComm, 'rank' | 'size' | 'maxAll' | 'oneHost'>, measure: () => T): Promise<T | undefined> {
  if (comm.size === 1) return (measure(), measure());
  const barrier = () => comm.maxAll(new Float32Array(1));
  const pause = () => new Promise((resolve) => setTimeout(resolve, TURN_PAUSE_MS));
  if (comm.oneHost === true) {
    await barrier();
    const result = comm.rank === 0 ? (await pause(), measure(), measure()) : undefined;
    await barrier();
    return result;
  }
  let result = measure();
  await barrier();
  for (let turn = 0; turn < comm.size; turn++) {
    if (turn === comm.rank) {
      await pause();
      result = measure();
    }
    await barrier();
  }
  return result;
}

/** Past this, a four-chunk run is on a link too slow to time sixteen chunks within the budget. */
const SLOW_LINK_SECONDS = 0.05;

/** One timed schedule: its traffic's terms (1, messages, sends, linkBytes) and the time it took (less its reductions' γ). */
export interface Sample {
  readonly terms: Terms;
  readonly seconds: number;
  /** The call's bytes per rank (runs of one size make one point of the β curve). */
  readonly bytes?: number;
  /** A run the β curve takes (the mid sizes' blocks, the runs past them), not only the one β. */
  readonly point?: boolean;
  /** The schedule timed (its runs that are points make its own curve too). */
  readonly algorithm?: string;
  /** A run only its schedule's own curve takes, not the fit nor the pooled curve (the direct exchange's mid sizes). */
  readonly ownOnly?: boolean;
  /** Its figure is the lower quartile of its calls, not the median (the mid sizes' points; the few-byte runs' figures those subtract). */
  readonly lower?: boolean;
  /** The schedule's own messages on the busiest rank and their size (model.ts's PricedTraffic): those past the threshold go by reference. */
  readonly referenceSends?: number;
  readonly referenceBytes?: number;
  /** The ring at another chunk size (referenceProbe): only referenceCost takes it, not the fit nor any curve. */
  readonly probe?: boolean;
}

type Terms = readonly [number, number, number, number];

/** The unknowns in a Sample's term order: call, α, o, β. */
type Fitted = [number, number, number, number];

/** Untimed rounds of the few-byte runs before the timed ones (warm-up, the large runs' garbage). */
const UNTIMED_ROUNDS = 2;

/** The latency-bound runs' size: a few bytes. */
const FEW_BYTES = 8;

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
function plannedRuns(chunk: number, ranks: number, repeats: number): (readonly [string, number, number])[] {
  const few = Math.max(3, repeats >> 1);
  // The direct exchange's one hop of n-1 messages, against the ring's and tree's several hops
  // of one message each at the same sizes, is what tells α from o and the per-call cost; its
  // larger run is timed on GPU memory only (plannedGpuRuns).
  const direct = Math.max(1024, Math.floor(chunk / 8 / Math.max(1, ranks - 1) / 1024) * 1024);
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
 * priced 112-146 µs against 74-98 measured, and `auto` ran the ring there (tune17).
 */
const DIRECT_CURVE_BYTES = [16 << 10, ...CURVE_BYTES] as const;

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

/** The median (or fastest) seconds of `repeats` runs of `run`, after one untimed (first use of a size: buffers, pools). */
async function medianSeconds(run: () => Promise<void>, repeats: number, fastest = false): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    await run();
    times.push((performance.now() - started) / 1000);
  }
  return fastest ? Math.min(...times) : median(times);
}

/** An allreduce's traffic by its formula (plannedRuns keeps the direct exchange inside its domain; the others have none). */
function trafficOf(comm: CalibrationComm, algorithm: string, bytes: number, chunkBytes = comm.chunkBytes) {
  return callTraffic(algorithm, { collective: 'allReduce', bytes, ranks: comm.size, chunkBytes, ...(comm.pipelineDepth !== undefined && { pipelineDepth: comm.pipelineDepth }), ...(comm.switchPacketValues !== undefined && { switchPacketValues: comm.switchPacketValues }), ...(comm.switchExponents !== undefined && { switchExponents: comm.switchExponents }) }, comm.oneThread)!;
}

/** A run's terms in Sample order. */
function termsOf(traffic: { messages: number; sends: number; linkBytes: number }): Terms {
  return [1, traffic.messages, traffic.sends, traffic.linkBytes];
}

/** A host-memory run's sample: its traffic's terms and its time less its folds' γ. */
function sampleOf(comm: CalibrationComm, algorithm: string, bytes: number, seconds: number, gamma: number, chunkBytes?: number): Sample {
  const traffic = trafficOf(comm, algorithm, bytes, chunkBytes);
  return { terms: termsOf(traffic), seconds: Math.max(0, seconds - traffic.reducedBytes * gamma), bytes, algorithm, referenceSends: traffic.referenceSends, referenceBytes: traffic.referenceBytes };
}

/** Few-byte and mid-size calls run in blocks back to back, the first untimed (see interleavedTimes). */
const LATENCY_BLOCK = 3;

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
async function interleavedTimes(comm: CalibrationComm, algorithms: readonly string[], bytes: number, rounds: number, untimed: number, block: number, run: (data: Float32Array, name: string) => Promise<void> = (data, name) => comm.allReduce(data, name)): Promise<number[][]> {
  return runTimes(algorithms.map((algorithm) => ({ algorithm, bytes })), rounds, untimed, block, run);
}

/** A schedule at a size, one entry of a round. */
interface Run {
  readonly algorithm: string;
  readonly bytes: number;
  /** The by-reference probe (referenceProbe): a sample of its own kind, cut at its own chunk size. */
  readonly probe?: boolean;
  readonly chunkBytes?: number;
  /** A point of its schedule's own curve only (ringReach): not the fit nor the pooled curve. */
  readonly ownOnly?: boolean;
}

/** interleavedTimes over runs of any sizes: each round times every run in turn, starting with the next one. */
async function runTimes(runs: readonly Run[], rounds: number, untimed: number, block: number, run: (data: Float32Array, name: string, chunkBytes?: number) => Promise<void>, lineUp?: () => Promise<unknown>, buffers = new Map<number, Float32Array>()): Promise<number[][]> {
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
        await run(data, runs[i]!.algorithm, runs[i]!.chunkBytes);
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
 * Runs timed in blocks past `untimed` rounds: the few-byte runs after the warm-up and before any
 * larger run (see calibrate), the β curve's mid sizes after them. Rounds spread between the larger runs timed the first calls'
 * warm-up (a first ring call took 0.6 s on inproc; the first 64 KiB tcp calls 20-100 ms
 * against 1) and the collection of the large runs' buffers (12 ms for an 8-byte ring call
 * right after a 4 MiB one, against 0.2 ms), which fell mostly on the round's first schedule,
 * the ring: its median doubled, and so did α; the mid sizes' β came out 10-400 ns/B against
 * 1-3 timed first past one untimed call, and 3-30x the sweeps' timed right after the 16-chunk
 * runs, past one untimed round. Each run's figure is the fastest rank's (the maximum of the negated):
 * calls follow each other with no barrier, so a rank that left the previous block early counts
 * the wait for the last peer to join; the last to join waited for no one.
 */
async function blockSamples(comm: CalibrationComm, algorithms: readonly string[], bytes: number, rounds: number, untimed: number, gamma: number, figures: readonly Figure[] = ['median'], block = LATENCY_BLOCK): Promise<Sample[]> {
  const times = await interleavedTimes(comm, algorithms, bytes, rounds, untimed, block);
  const own = figures.flatMap((figure) => times.map(figure === 'median' ? median : lowerQuartile));
  const fastest = await comm.maxAll(Float32Array.from(own, (t) => -t));
  return figures.flatMap((figure, f) => algorithms.map((algorithm, i) => ({
    ...sampleOf(comm, algorithm, bytes, -fastest[f * algorithms.length + i]!, gamma), ...(figure === 'lower' && { lower: true }),
  })));
}

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
 * The board's few-byte figures (median and lower quartile over blocks): its calls in a stream of
 * board calls alone, not blocks interleaved with the schedules of messages as the others' few-byte
 * runs are. A board call right after another schedule's finds the board's side asleep (its thread
 * parked on the futex, the JS thread's spin given up), which a stream of board calls, what `auto`
 * runs on a host with a board, does not: 2 shm ranks in one process at load 7-10
 * (`bench/tune-board-fixed.ts 2 12`), blocks of 3 among the others' took 163 / 209 µs a call
 * (median of 12; single blocks up to 16 ms), the board's own blocks of 5 84 / 104 µs; with 6 such
 * interleaved blocks calibration's median flipped between the modes (2 ranks: 987 µs in one
 * sweep's calibration, 59-134 µs measured by the sweep at 8 B-128 KiB, its worst points: +639 to
 * +1526%). More rounds too (2·repeats + 1), so the median of the blocks holds when a few stall.
 */
async function boardFewSamples(comm: CalibrationComm, repeats: number, gamma: number, block: number): Promise<Sample[]> {
  return blockSamples(comm, ['board'], FEW_BYTES, 2 * repeats + 1, UNTIMED_ROUNDS, gamma, ['median', 'lower'], block);
}

/**
 * Seconds per few-byte call of each of the board's other collectives (BOARD_COLLECTIVES order), in
 * streams of their own as the allreduce's (boardFewSamples), interleaved with one another round by
 * round; each the median of its blocks, the fastest rank's (blockSamples). Empty where the comm
 * cannot run them (no boardCall: every rank alike, calibrationComm gives it wherever it gives board).
 */
async function boardCollectiveSeconds(comm: CalibrationComm, repeats: number, block: number): Promise<number[]> {
  const boardCall = comm.boardCall?.bind(comm);
  if (!boardCall) return [];
  const times = await interleavedTimes(comm, BOARD_COLLECTIVES, FEW_BYTES, 2 * repeats + 1, UNTIMED_ROUNDS, block, (_, name) => boardCall(name as BoardCollective, FEW_BYTES));
  const fastest = await comm.maxAll(Float32Array.from(times, (t) => -median(t)));
  return Array.from(fastest, (t) => -t);
}

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
const WARM_CALLS = 1024;
const WARM_SECONDS = 0.5;
/**
 * Where all WARM_CALLS calls fit in this many seconds at the fastest pace seen, the warm-up runs
 * them all, not WARM_SECONDS of them: the tier-up counts calls, not time. 4 tcp processes on 2
 * cores ran ~190 calls in 0.5 s (1.7-2.5 ms each), and their 8-byte calls came out 1.6-2x what a
 * warm sweep measured: ring 1.7-2.1 ms, tree 0.9-1.0, direct 0.50-0.51, against 0.96-1.03,
 * 0.55-0.58 and 0.29-0.33 after all 1024 (about 2 s; 1.0 and 1.4 s of them gave figures between),
 * and the sweeps' allreduces to 2 KiB were priced 1.0-2.7x (0.6-1.3x after; docs/
 * PERFORMANCE.md, warm28). Where calls are slower (4 ntcp ranks, ~3-5 ms; 8 ranks on one host,
 * 6-16 ms), a JIT's fixed saving is a smaller share of a call and 8 ranks' calibration would
 * pass its 10 s: WARM_SECONDS.
 */
const WARM_LONGEST_SECONDS = 3;
/**
 * The board's few-byte calls are so short (1-2 µs at 2 shm ranks once settled) that V8's tier-up
 * of their path is much of them, and the shared warm-up gives them a quarter of WARM_CALLS:
 * TurboFan finishes that path after some 20,000 calls (webccl-perf's JIT warm-up,
 * DEFAULT_JIT_WARMUP; oop18). As many of them, or as many as fit in BOARD_WARM_SECONDS where
 * calls are slower (8 ranks on 2 cores); their pace sizes the board's few-byte blocks.
 */
const BOARD_WARM_CALLS = 20_000;
const BOARD_WARM_SECONDS = 0.3;
/** Calls of each schedule between two checks of the time spent (a check is one maxAll). */
const WARM_BATCH = 32;

/** A few-byte allreduce on host memory with the named schedule (untimedCalls' default call). */
function hostFewCall(comm: CalibrationComm): (algorithm: string) => Promise<void> {
  const data = new Float32Array(FEW_BYTES / 4);
  return (algorithm) => comm.allReduce(data, algorithm);
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
 * rank's, so alike on every rank).
 */
async function untimedCalls(comm: CalibrationComm, algorithms: readonly string[], calls: number, seconds: number, { perCall = 0, run = hostFewCall(comm), longest = seconds }: UntimedOptions = {}): Promise<number> {
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
  return ran > 0 ? spent / ran : 0;
}

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
const FEW_ALGORITHMS = ['ring', 'tree', 'direct'] as const;
/**
 * The untimed calls' time between two passes, whatever a pass's own length. Shrunk by the pass's
 * own time (tried in tune18: the passes starting 0.15 s apart) it vanished where a slow phase
 * stretched a pass past 0.15 s, so the next passes ran in the same phase: 4 shm ranks in one
 * process priced their 8-byte calls 1.3-1.9x in 3 of 5 sweeps (0 of 5 with the fixed gap).
 */
const FEW_GAP_SECONDS = 0.15;

/** `perCall`: the warm-up's seconds a call (untimedCalls), to cut the gaps' batches where calls are slow. */
async function fewByteSamples(comm: CalibrationComm, rounds: number, gamma: number, perCall: number): Promise<Sample[]> {
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

/** Untimed rounds of the mid sizes before their timed ones. */
const MID_UNTIMED_ROUNDS = 2;

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
 * rank's figure, as blockSamples's.
 */
async function midSamples(comm: CalibrationComm, runs: readonly MidRun[], untimed: number, gamma: number): Promise<Sample[]> {
  const allReduce = (data: Float32Array, name: string) => comm.allReduce(data, name);
  const lineUp = () => comm.maxAll(LINE_UP);
  await runTimes(runs, 0, untimed - 1, LATENCY_BLOCK, allReduce, lineUp);
  const started = performance.now();
  await runTimes(runs, 0, 1, LATENCY_BLOCK, allReduce, lineUp);
  const [round] = await comm.maxAll(Float32Array.of((performance.now() - started) / 1000));
  const long = round! >= LONG_MID_ROUND_SECONDS;
  await runTimes(runs, 0, long ? 0 : warmRounds(round!), LATENCY_BLOCK, allReduce, lineUp);
  const times = await runTimes(runs, long ? LONG_CURVE_ROUNDS : curveRounds(round!), 0, LATENCY_BLOCK, allReduce, lineUp);
  const own = times.map((t, i) => (runs[i]!.figure === 'median' ? median : lowerQuartile)(t));
  const fastest = await comm.maxAll(Float32Array.from(own, (t) => -t));
  return runs.map((run, i) => ({
    ...sampleOf(comm, run.algorithm, run.bytes, -fastest[i]!, gamma), point: true,
    ...(run.figure === 'lower' && { lower: true }), ...(run.ownOnly && { ownOnly: true }),
  }));
}

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
 * farWarmRounds' more. Runs past
 * 4 chunks and the ring's reach run are left out (every rank alike: the slowest rank's time
 * decides) when a run's faster untimed call took over SLOW_LINK_SECONDS: on a slow link they
 * would take seconds. Each
 * figure is this rank's own; calibrate takes the fastest rank's.
 */
async function largeSamples(comm: CalibrationComm, runs: readonly Run[], repeats: number, gamma: number): Promise<Sample[]> {
  const allReduce = (data: Float32Array, name: string, chunkBytes?: number) => comm.allReduce(data, name, chunkBytes);
  // One buffer a size through the untimed and the timed rounds: a call on a buffer the transport
  // has not yet seen runs slow (4 shm ranks, 16 MiB ring: the first timed call 32-102 ms, 23-28
  // after, however many untimed rounds ran on other buffers). With a buffer of their own, every
  // first timed round paid it, and the first run of a size in it (the ring's own-chunk run, ahead
  // of the by-reference probe on the same buffer) came out the slower: φ came out 0 (phi21).
  const buffers = new Map<number, Float32Array>();
  const times = (runs: readonly Run[], rounds: number, untimed: number, block = 1) => runTimes(runs, rounds, untimed, block, allReduce, undefined, buffers);
  // The ring's reach run (ownOnly) with the runs past 4 chunks wherever it lies: 4 times the
  // largest run's bytes, it is left out where they are (8 ntcp ranks, cal27).
  const longest = 4 * comm.chunkBytes;
  const far = runs.filter((run) => run.bytes > longest || run.ownOnly === true);
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
    return { ...sampleOf(comm, run.algorithm, 4 * Math.max(1, Math.floor(run.bytes / 4)), median(timed[i]!), gamma, run.chunkBytes), point, ...(run.probe === true && { probe: true }), ...(run.ownOnly === true && { ownOnly: true }) };
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

/** A run's figure over its timed calls: their median, or their lower quartile (lowerQuartile). */
export type Figure = 'median' | 'lower';

/**
 * The β curve's mid-size figure: the lower quartile of the timed calls, not their median. On a
 * loaded host a mid-size call either runs through (1-2.5 ms for 64 KiB-1 MiB on 2 tcp ranks)
 * or waits for a time slice (10-75 ms), a mix whose median flips with the moment's load (half
 * or more of the 1 MiB calls of one calibration at load average 27, few in the sweep minutes
 * later); predicted from a stalled median, the calls that run through were priced 10-30x over.
 * The larger runs have no such choice (a call of many slices always waits some) and keep theirs.
 */
function lowerQuartile(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 4)]!;
}

/** Rounds of blocks at each of the β curve's mid sizes: 4 block figures (8 timed calls) of each schedule (the larger runs time 5, one round each). */
const CURVE_ROUNDS = 4;

/** Least squares of `samples` (relative errors) over the columns in `use`; undefined when they are singular. */
function leastSquares(samples: readonly Sample[], use: readonly number[]): number[] | undefined {
  const k = use.length;
  // Columns scaled to unit size, so seconds and bytes do not make the system ill-conditioned.
  const scale = use.map((j) => Math.max(...samples.map((s) => Math.abs(s.terms[j]!))) || 1);
  const a = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  for (const s of samples) {
    // Each equation divided by its own time: the fit minimises relative errors, so the small
    // calls (which fix call and α) weigh as much as the large ones (which fix β).
    const weight = s.seconds > 0 ? 1 / s.seconds : 1;
    const x = use.map((j, i) => (weight * s.terms[j]!) / scale[i]!);
    for (let r = 0; r < k; r++) {
      for (let c = 0; c < k; c++) a[r]![c]! += x[r]! * x[c]!;
      a[r]![k]! += x[r]! * weight * s.seconds;
    }
  }
  // Dependent columns leave a pivot at rounding level, relative to the system's own size.
  const tiny = 1e-9 * Math.max(...a.map((row, r) => Math.abs(row[r]!)));
  for (let col = 0; col < k; col++) {
    const pivot = a.slice(col).reduce((best, row, i) => (Math.abs(row[col]!) > Math.abs(a[best]![col]!) ? col + i : best), col);
    if (!(Math.abs(a[pivot]![col]!) > tiny)) return undefined;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const f = a[r]![col]! / a[col]![col]!;
      for (let c = col; c <= k; c++) a[r]![c]! -= f * a[col]![c]!;
    }
  }
  return use.map((_, i) => a[i]![k]! / a[i]![i]! / scale[i]!);
}

/**
 * Columns `use` ≥ 0 fitting `samples` best: the least-squares fit (relative errors) of every
 * subset of the columns, the non-negative one with the least residual (exact non-negative least
 * squares: its optimum is the plain least squares of its own support; a few unknowns make 16
 * subsets at most); unused columns are 0. Ties go to the larger subset, then to the one that
 * drops the later columns. Dropping the most negative column and then, where the columns are
 * dependent, the last (as before) took the wrong face: with two ranks every schedule sends
 * 2·hops − 1 messages (sends = 2·messages − call), so call, α and o span two dimensions, and
 * with o dropped no ring could cost over 2x the direct exchange (call ≥ 0), though 2 tcp ranks
 * measured 2.7-3x (185 against 505-550 us at 8 bytes): α came out 226-338 us, the direct
 * exchange predicted 15-40% over, ring and tree 20% under. Call and o fit them exactly.
 */
function nonNegativeFit(samples: readonly Sample[], use: readonly number[]): Fitted {
  let best: { fit: Fitted; residual: number } | undefined;
  for (const subset of subsetsOf(use)) {
    const solved = samples.length === 0 ? undefined : leastSquares(samples, subset);
    if (solved === undefined || solved.some((v) => v < 0)) continue;
    const fit: Fitted = [0, 0, 0, 0];
    subset.forEach((j, i) => { fit[j] = solved[i]!; });
    const residual = relativeResidual(samples, fit);
    if (best === undefined || residual < best.residual * (1 - 1e-9) - 1e-30) best = { fit, residual };
  }
  return best?.fit ?? [0, 0, 0, 0];
}

/** Every non-empty subset of `columns`, larger first; of one size, those that keep the earlier columns first. */
function subsetsOf(columns: readonly number[]): number[][] {
  const subsets: number[][] = [];
  for (let mask = (1 << columns.length) - 1; mask > 0; mask--) subsets.push(columns.filter((_, i) => mask & (1 << (columns.length - 1 - i))));
  return subsets.sort((a, b) => b.length - a.length);
}

/** Σ((predicted − measured) / measured)², the quantity leastSquares minimises. */
/** What `fit` prices sample `s` at: its terms (call, messages, sends, link bytes) times the fit's parameters. */
function pricedBy(s: Sample, fit: readonly number[]): number {
  return s.terms.reduce((sum, term, j) => sum + term * fit[j]!, 0);
}

function relativeResidual(samples: readonly Sample[], fit: Fitted): number {
  return samples.reduce((sum, s) => {
    const predicted = pricedBy(s, fit);
    const weight = s.seconds > 0 ? 1 / s.seconds : 1;
    return sum + (weight * (predicted - s.seconds)) ** 2;
  }, 0);
}

/** Past this many bytes on the link a run is no longer latency-bound: β·bytes is a visible share of it. */
const LATENCY_LINK_BYTES = 4096;

/**
 * call, α, o, β ≥ 0 fitting the samples, in two parts so that neither regime bends the other:
 * call, α and o from the latency-bound runs (a few bytes on the link: the schedules' different
 * counts of messages in sequence and of messages sent, at about the same bytes, separate them),
 * β from the others given those: least squares of relative errors, which weighs each run's
 * seconds per link byte by (its bytes' share of its time)², so a run that latency dominates,
 * or one a loaded host stalled (its time 10x, its weight 1/100), moves β little. (The median
 * of the runs' seconds per byte, tried instead, gave every run one vote: half-chunk runs,
 * whose per-byte cost is 2x the larger runs', set it, and bench/tune-sweep.ts over 3
 * alternated pairs had a median error of 41% against this fit's 34%.) A joint fit let the large runs, whose errors in the formulas'
 * byte counts are larger than a small call's whole time, pull call and α several times off
 * (bench/tune-sweep.ts measured small calls 2-3x slower than predicted). Each part subtracts the
 * other's current estimate; a few rounds converge (the coupling is a few bytes' β). Without
 * enough runs of one kind, all are fitted jointly. `latency` names the columns the
 * latency-bound runs fit (the GPU fit leaves α to the host's).
 */
export function fitLatencyBandwidth(samples: readonly Sample[], latency: readonly number[] = [0, 1, 2]): Fitted {
  const small = samples.filter((s) => s.terms[3] <= LATENCY_LINK_BYTES);
  const large = samples.filter((s) => s.terms[3] > LATENCY_LINK_BYTES);
  if (small.length < 2 || large.length === 0) return nonNegativeFit(samples, [...latency, 3]);
  let beta = 0;
  let fixed: Fitted = [0, 0, 0, 0];
  const less = (s: Sample, seconds: number): Sample => ({ terms: s.terms, seconds: Math.max(0, s.seconds - seconds) });
  for (let round = 0; round < 4; round++) {
    fixed = nonNegativeFit(small.map((s) => less(s, s.terms[3] * beta)), latency);
    const [call, alpha, overhead] = fixed;
    beta = nonNegativeFit(large.map((s) => less(s, call + s.terms[1] * alpha + s.terms[2] * overhead)), [3])[3];
  }
  return [fixed[0], fixed[1], fixed[2], beta];
}

/**
 * The β curve: for each call size whose runs are points (calibrate marks them), what its runs (ring and tree)
 * took beyond call + messages·α + sends·o, per byte on their link, pooled (their sum over their
 * link bytes' sum) at their mean link bytes. No least squares across sizes: each size is
 * priced by its own runs, which is the point of the curve. A size whose runs took no longer
 * than their fixed costs gets β = 0 (its bytes cost nothing measurable); points keep
 * ascending where the two schedules' mean link bytes of neighbouring sizes would cross.
 * With `algorithm`, that schedule's runs alone: its own curve (params.betaCurves). A run whose
 * figure is a lower quartile is priced beyond `lower`'s fixed costs (lowerFit). With `offsets`,
 * each schedule's fixed part is its own few-byte figure's (fixedOffsetsOf: the fit's plus its
 * offset), as the model prices it.
 */
export function curveOf(samples: readonly Sample[], fit: Fitted, algorithm?: string, lower: Fitted = fit, board?: BoardFixed, offsets?: FixedOffsets): BetaPoint[] {
  const bySize = new Map<number, Sample[]>();
  for (const s of samples) if (s.point && s.bytes !== undefined && (algorithm === undefined || s.algorithm === algorithm)) bySize.set(s.bytes, [...(bySize.get(s.bytes) ?? []), s]);
  const curve: BetaPoint[] = [];
  for (const [, runs] of [...bySize].sort((x, y) => x[0] - y[0])) {
    const link = runs.reduce((sum, s) => sum + s.terms[3], 0);
    // Each run beyond the fixed costs of its own figure (a lower quartile's: the few-byte runs' lower quartiles').
    // What the model prices besides the bytes (fixedSeconds: the board's own where it has one).
    const fixed = (s: Sample) => {
      const [call, alpha, overhead] = s.lower ? lower : fit;
      const own = s.lower ? board?.lower : board?.median;
      const fixedOffsets = s.lower ? offsets?.lower : offsets?.median;
      return fixedSeconds(s.algorithm ?? '', { messages: s.terms[1], sends: s.terms[2] }, { call, alpha, overhead, ...(own && { board: own }), ...(fixedOffsets && { fixedOffsets }) }, undefined, s.bytes);
    };
    const beyond = runs.reduce((sum, s) => sum + Math.max(0, s.seconds - fixed(s)), 0);
    const linkBytes = link / runs.length;
    if (curve.length > 0 && !(linkBytes > curve.at(-1)!.linkBytes)) continue;
    curve.push({ linkBytes, beta: beyond / link });
  }
  return curve;
}

/** Each schedule's own curve (curveOf of its runs alone), for every schedule with runs that are points. */
export function curvesByAlgorithm(samples: readonly Sample[], fit: Fitted, lower: Fitted = fit, board?: BoardFixed, offsets?: FixedOffsets): Record<string, BetaPoint[]> {
  const names = [...new Set(samples.filter((s) => s.point && s.algorithm !== undefined).map((s) => s.algorithm!))].sort();
  return Object.fromEntries(names.map((name) => [name, curveOf(samples, fit, name, lower, board, offsets)]));
}

/** Each schedule's offset (fixedOffsetsOf) beyond the fit of the few-byte medians and beyond lowerFit's, which curveOf prices median and lower-quartile points beyond. */
export interface FixedOffsets {
  readonly median: Readonly<Record<string, number>>;
  readonly lower: Readonly<Record<string, number>>;
}

/**
 * CostParams.fixedOffsets: what each schedule's own few-byte run (fewByteSamples: ring, tree,
 * direct; the lower quartiles with `lower`, else the medians) took beyond what `fit` prices it at,
 * call + messages·α + sends·o + linkBytes·β, where the fit over-prices it (≤ 0). Not above: a
 * loaded host only makes calls slower, so a figure under the fit is the schedule's, one over it
 * may be a stall that the fit, spread over three schedules, had averaged away (4 tcp processes:
 * a tree median 488 µs over the fit, its 64 KiB calls priced 2.1x, auto on the ring at 64 KiB-1
 * MiB; docs/PERFORMANCE.md, fixed24). Three
 * schedules, three unknowns, but each ≥ 0 and one α for every schedule's hops: on 4 tcp processes
 * sharing 2 cores o came out 0 in 5 of 5 calibrations and the tree's fixed part 1.1-1.6x its own
 * few-byte figure (docs/PERFORMANCE.md, reach23 (b)). The board's runs (ownOnly) have fixed costs
 * of their own (boardFixed).
 */
export function fixedOffsetsOf(samples: readonly Sample[], fit: Fitted, lower: boolean): Record<string, number> {
  const few = samples.filter((s) => s.bytes === FEW_BYTES && !s.point && !s.probe && !s.ownOnly && s.algorithm !== undefined && (s.lower === true) === lower);
  const byAlgorithm = new Map<string, number[]>();
  for (const s of few) {
    const priced = pricedBy(s, fit);
    byAlgorithm.set(s.algorithm!, [...(byAlgorithm.get(s.algorithm!) ?? []), s.seconds - priced]);
  }
  return Object.fromEntries([...byAlgorithm].sort((x, y) => x[0].localeCompare(y[0])).map(([name, residuals]) => [name, Math.min(0, median(residuals))]));
}

/** The board's own fixed cost (boardFixed) as its median few-byte figure and as its lower quartile, which its curve's lower-quartile points are priced beyond. */
export interface BoardFixed {
  readonly median: BoardCostParams;
  readonly lower: BoardCostParams;
}

/**
 * The board's fixed cost from its few-byte runs (calibrate times them beside the other
 * schedules', ownOnly): each figure's time is the whole call (its bytes' cost is a few ns).
 * Undefined where the board was not timed.
 */
export function boardFixed(samples: readonly Sample[]): BoardFixed | undefined {
  const few = samples.filter((s) => s.algorithm === 'board' && !s.point);
  const median = few.find((s) => !s.lower);
  const lower = few.find((s) => s.lower) ?? median;
  if (!median || !lower) return undefined;
  const handed = handedOverSeconds(samples);
  const over = handed === undefined ? {} : { handedOver: handed };
  return { median: { call: median.seconds, ...over }, lower: { call: lower.seconds, ...over } };
}

/**
 * What a board allreduce past BOARD_JS_THREAD_BYTES costs besides its bytes (BoardCostParams.
 * handedOver): the intercept at no link bytes of the line through its two smallest curve points
 * past that size (256 KiB and 1 MiB, lower quartiles both), within [0, the smaller one's time].
 * Its few-byte calls' cost is not it (they spin on the JS thread first), and priced beyond that,
 * the points past it came out 0 wherever those calls were cheaper than the few-byte ones.
 * Undefined with fewer than two such points.
 */
export function handedOverSeconds(samples: readonly Sample[]): number | undefined {
  const points = samples.filter((s) => s.algorithm === 'board' && s.point && (s.bytes ?? 0) > BOARD_JS_THREAD_BYTES).sort((a, b) => a.terms[3] - b.terms[3]);
  if (points.length < 2) return undefined;
  const [p1, p2] = [points[0]!, points[1]!];
  const slope = (p2.seconds - p1.seconds) / (p2.terms[3] - p1.terms[3]);
  return Math.min(p1.seconds, Math.max(0, p1.seconds - slope * p1.terms[3]));
}

/**
 * call, α and o of the few-byte runs' lower quartiles (the samples marked lower that are not
 * points), β the fit's: what the mid sizes' points, lower quartiles too, are priced beyond.
 * Their medians' fixed costs, subtracted from lower quartiles, took the quartiles' gap for
 * negative bytes: a 64 KiB point came out 0 in every calibration of 8 for the direct exchange,
 * 0-5.7 ns/B for ring and tree. `fit` itself where there are none.
 */
export function lowerFit(samples: readonly Sample[], fit: Fitted): Fitted {
  // Less their few bytes' β, as fitLatencyBandwidth fits the medians.
  const few = samples.filter((s) => s.lower && !s.point && !s.ownOnly).map((s) => ({ terms: s.terms, seconds: Math.max(0, s.seconds - s.terms[3] * fit[3]) }));
  if (few.length < 2) return fit;
  const [call, alpha, overhead] = nonNegativeFit(few, [0, 1, 2]);
  return [call, alpha, overhead, fit[3]];
}

/**
 * Switch allreduces timed: 16 KiB and 1 MiB, 1 and 64 packets at 4096 values ('auto' on loopback,
 * the float path's int32 streams), 64 and 4096 at 64. Since the switch's float path quantizes into
 * its packets, 256 KiB's 15 packets more than 16 KiB's took ~0.2 ms more, within a loaded
 * machine's noise: in about 1 of 5 calibrations the larger run's remainder came out the smaller
 * (tune-calibrate-switch; switchCosts says what π is then).
 */
const SWITCH_BYTES = [16384, 1048576] as const;

/** A run whose time is what the fit needs as measured (γ subtracted later, once it is agreed). */
interface Timed {
  readonly algorithm: string;
  readonly bytes: number;
  readonly seconds: number;
}

/** Everything one rank measured; every rank has the same shape (the same runs, in the same order). */
interface Measured {
  readonly gamma: number;
  readonly codecs: Record<string, CodecRate>;
  readonly samples: readonly Sample[];
  /** The board's other collectives' few-byte seconds (boardCollectiveSeconds; empty without a board). */
  readonly boardCollectives: readonly number[];
  readonly switchRuns: readonly Timed[];
  readonly gpuGamma?: number;
  readonly gpuRuns: readonly Timed[];
}

/** A rank's measurements as one vector, for the maximum over ranks: γ, encode and decode per codec (in `names` order), each sample's, switch run's and GPU run's seconds, γ_gpu. */
function flatten(m: Measured, names: readonly string[]): Float32Array {
  return Float32Array.from([
    m.gamma, ...names.flatMap((n) => [m.codecs[n]!.encode, m.codecs[n]!.decode]), ...m.samples.map((s) => s.seconds), ...m.boardCollectives,
    ...m.switchRuns.map((r) => r.seconds), ...m.gpuRuns.map((r) => r.seconds), ...(m.gpuGamma === undefined ? [] : [m.gpuGamma]),
  ]);
}

/** `shape` with its figures replaced by `values` (laid out by flatten). */
function unflatten(values: Float32Array, shape: Measured, names: readonly string[]): Measured {
  let at = 0;
  const next = () => values[at++]!;
  const gamma = next();
  const codecs: Record<string, CodecRate> = {};
  for (const name of names) codecs[name] = { encode: next(), decode: next() };
  const samples = shape.samples.map((s) => ({ ...s, seconds: next() }));
  const boardCollectives = shape.boardCollectives.map(() => next());
  const switchRuns = shape.switchRuns.map((r) => ({ ...r, seconds: next() }));
  const gpuRuns = shape.gpuRuns.map((r) => ({ ...r, seconds: next() }));
  return { gamma, codecs, samples, boardCollectives, switchRuns, gpuRuns, ...(shape.gpuGamma !== undefined && { gpuGamma: next() }) };
}

/**
 * π and the round trip from two switch runs: what each took beyond call + messages·α + sends·o +
 * bytes·β (the switch's formula's counts), with the β the model prices the switch's bytes at
 * (`linkBeta`: the pooled curve at those bytes, model.ts's betaAt; the joint fit's single β is
 * not it, and subtracting it made the larger run's remainder the smaller one in about 1 of 5
 * calibrations on loopback). When the larger run's remainder is still not the larger, its packets
 * cost nothing that the link's bytes had not already taken: the switch keeps a window of them in
 * flight behind a slow link (1 Gbit veths at a 1500-byte MTU: 10.4 ms for 1 MiB, β·bytes 9.9 ms),
 * or noise hid what they cost. π is then 0 and the round trip the two remainders' mean (the
 * least-squares fit with π held at 0): before, the default's 400 µs a packet stayed, 40x what
 * that rack's switch cost, and auto ran the ring 1.4x slower than the switch (docs/PERFORMANCE.md,
 * lead19).
 */
function switchCosts(comm: CalibrationComm, runs: readonly Timed[], host: HostFit, linkBeta: (linkBytes: number) => number): { switchPacket: number; switchRoundTrip: number } | undefined {
  if (runs.length !== 2) return undefined;
  const [few, many] = runs.map((r) => {
    const traffic = trafficOf(comm, r.algorithm, r.bytes);
    return { packets: traffic.packets!, extra: r.seconds - host.call - traffic.messages * host.alpha - traffic.sends * host.overhead - traffic.linkBytes * linkBeta(traffic.linkBytes) };
  }) as [{ packets: number; extra: number }, { packets: number; extra: number }];
  if (!(many.extra > few.extra)) return { switchPacket: 0, switchRoundTrip: Math.max(0, (few.extra + many.extra) / 2) };
  const switchPacket = (many.extra - few.extra) / (many.packets - few.packets);
  return { switchPacket, switchRoundTrip: Math.max(0, few.extra - few.packets * switchPacket) };
}

/** The host figures the switch's and the GPU's terms are measured beyond. */
interface HostFit {
  readonly call: number;
  readonly alpha: number;
  readonly overhead: number;
  readonly beta: number;
}

/**
 * GPU terms: the GPU runs fitted like the host samples (γ_gpu and the host's α, the link's
 * latency, subtracted: the memory changes each message's work, not its flight), so call, o and
 * β only; what exceeds the host's figures is the GPU's.
 */
function gpuCosts(comm: CalibrationComm, runs: readonly Timed[], gpuGamma: number, host: HostFit, board: BoardCostParams | undefined, offsets: Readonly<Record<string, number>>): GpuCostParams {
  // The host schedules' own offsets too (fixedOffsetsOf): the model adds them to GPU calls' host part as well.
  const fitted = fitLatencyBandwidth(runs.filter((r) => r.algorithm !== 'board').map((r) => {
    const traffic = trafficOf(comm, r.algorithm, r.bytes);
    return { terms: termsOf(traffic), seconds: Math.max(0, r.seconds - traffic.reducedBytes * gpuGamma - traffic.messages * host.alpha - (offsets[r.algorithm] ?? 0)) };
  }), [0, 2]);
  const gpu: GpuCostParams = { call: Math.max(0, fitted[0] - host.call), message: Math.max(0, fitted[2] - host.overhead), stage: Math.max(0, fitted[3] - host.beta), gamma: gpuGamma };
  // The board's few-byte GPU call beyond its host fixed cost: its read-back and write (it sends no message, so the fit says nothing of it).
  const few = runs.find((r) => r.algorithm === 'board');
  return few && board ? { ...gpu, board: Math.max(0, few.seconds - board.call - few.bytes * gpu.stage) } : gpu;
}

/** Parameters from one rank's measurements, or the maximum over ranks. */
function parametersOf(comm: CalibrationComm, m: Measured, threshold?: number): CostParams {
  const reference = threshold === undefined ? undefined : referenceCost(m.samples, threshold);
  // What the runs' messages by reference cost is priced by φ, not in β: their times less it.
  const samples = reference === undefined ? m.samples : withoutReference(m.samples, reference);
  m = { ...m, samples };
  const shared = sharedSamples(m.samples);
  const fit = shared.length === 0 ? [0, 0, 0, 0] as Fitted : fitLatencyBandwidth(shared);
  const [call, alpha, overhead, beta] = fit;
  const host = { call, alpha, overhead, beta };
  const lower = lowerFit(m.samples, fit);
  const offsets: FixedOffsets = { median: fixedOffsetsOf(m.samples, fit, false), lower: fixedOffsetsOf(m.samples, lower, true) };
  const betaCurve = curveOf(shared, fit, undefined, lower, undefined, offsets);
  const board = boardFixed(m.samples);
  const switched = switchCosts(comm, m.switchRuns, host, (linkBytes) => betaAt({ beta, betaCurve }, linkBytes));
  return {
    ...DEFAULT_COST_PARAMS, memory: m.gpuGamma === undefined ? 'cpu' : 'gpu', call, alpha, overhead, beta, betaCurve, betaCurves: curvesByAlgorithm(m.samples, fit, lower, board, offsets), gamma: m.gamma, codecs: m.codecs, ...switched,
    ...(comm.oneThread === true && { oneThread: true }),
    ...(reference && { reference }),
    ...(Object.keys(offsets.median).length > 0 && { fixedOffsets: offsets.median }),
    ...(board && { board: boardCosts(board.median, m.boardCollectives) }),
    ...(m.gpuGamma !== undefined && m.gpuRuns.length > 0 && { gpu: gpuCosts(comm, m.gpuRuns, m.gpuGamma, host, board?.median, offsets.median) }),
  };
}

/** The samples the fit of call, α, o and β and the pooled curve take: not a schedule's own, nor the few-byte lower quartiles, nor the probe. */
function sharedSamples(samples: readonly Sample[]): Sample[] {
  return samples.filter((s) => !s.ownOnly && !(s.lower && !s.point) && !s.probe);
}

/**
 * φ, what a message by reference costs (CostParams.reference), from the probe (the ring at its
 * largest planned size cut at another chunk size: referenceProbe) and that size's own ring run:
 * the same bytes, the same working set, r messages by reference in one and r' in the other, so
 * what one took beyond the other, past call + messages·α + sends·o (the fit of the shared runs),
 * is (r − r')·φ. Within [0, what the run's messages could cost] (β ≥ 0 there). Undefined without
 * both runs. (Two sizes at one chunk, 16 and 64 MiB, tried first: 4·b16 − b64 is a small
 * difference of large figures, and β itself falls past 16 MiB; φ came out 1.0-1.7 ms on 4 shm
 * ranks where a probe of chunks at one size measured 0.3.)
 */
export function referenceCost(samples: readonly Sample[], threshold: number): ReferenceCostParams | undefined {
  const probe = samples.find((s) => s.probe);
  const base = probe && samples.find((s) => !s.probe && s.algorithm === probe.algorithm && s.bytes === probe.bytes && !s.lower);
  if (probe === undefined || base === undefined) return undefined;
  const [call, alpha, overhead] = fitLatencyBandwidth(sharedSamples(samples));
  const beyond = (s: Sample) => s.seconds - (call + s.terms[1] * alpha + s.terms[2] * overhead);
  const sends = (s: Sample) => referenceSendsOf(s, { bytes: threshold, message: 0 });
  const [rb, rp] = [sends(base), sends(probe)];
  if (rb === rp) return undefined;
  const phi = (beyond(probe) - beyond(base)) / (rp - rb);
  const most = Math.max(0, Math.min(beyond(base) / Math.max(1, rb), beyond(probe) / Math.max(1, rp)));
  return { bytes: threshold, message: Math.min(Math.max(0, phi), most) };
}

/** `samples` with what their messages by reference cost under `reference` taken off their times. */
function withoutReference(samples: readonly Sample[], reference: ReferenceCostParams): Sample[] {
  return samples.map((s) => {
    const sends = referenceSendsOf(s, reference);
    return sends === 0 ? s : { ...s, seconds: Math.max(0, s.seconds - sends * reference.message) };
  });
}

/** The board's fixed costs: the allreduce's, and each other collective's where they were timed. */
function boardCosts(allReduce: BoardCostParams, others: readonly number[]): BoardCostParams {
  if (others.length !== BOARD_COLLECTIVES.length) return allReduce;
  return { ...allReduce, collectives: Object.fromEntries(BOARD_COLLECTIVES.map((name, i) => [name, others[i]!])) };
}

/**
 * The GPU warm-up's time budget (WARM_CALLS calls at most): 2 inproc ranks' 8-byte GPU calls ran
 * 470-830 µs a call right after the host runs, 340-420 after 1024 more (0.7 s; the first few
 * hundred take 1-1.5 ms each, so 0.5 s ran about 380), as the sweep's warm worlds' did. Timed
 * cold, they priced the few-byte GPU calls 35-62% over (the sweeps' signed medians, gpu19).
 */
const GPU_WARM_SECONDS = 1;

/** Bytes of the larger fold timed for γ_gpu: a few milliseconds on a software adapter, past the submission's fixed cost. */
const GPU_FOLD_BYTES = 4 << 20;

/**
 * γ_gpu: the slope of the device's fold time between a sixteenth of GPU_FOLD_BYTES and all of
 * it (the submission's fixed cost cancels), each the fastest of five; where noise makes the
 * slope vanish, the large fold's whole time per byte (an upper bound, never zero).
 */
async function gpuFoldRate(gpu: GpuCalibration): Promise<number> {
  const small = GPU_FOLD_BYTES / 16;
  const fastest = async (n: number) => { let best = Infinity; for (let i = 0; i < 5; i++) best = Math.min(best, await gpu.fold(n)); return best; };
  await gpu.fold(GPU_FOLD_BYTES);
  const [t0, t1] = [await fastest(small), await fastest(GPU_FOLD_BYTES)];
  const slope = (t1 - t0) / (GPU_FOLD_BYTES - small);
  return slope > 0 ? slope : t1 / GPU_FOLD_BYTES;
}

/**
 * The GPU runs: ring and tree at a few bytes, half a chunk and four chunks, the direct exchange
 * at two small sizes (and the board at a few bytes, where there is one: calibrate); every
 * few-byte run first, as on host memory (blockSamples): right after the tree's four-chunk GPU
 * run the direct exchange's 8-byte GPU calls took 618-964 µs (2 inproc, 2 tcp ranks) where the
 * sweep's, and the same calibration's ring's timed before any larger run, took 290-650 (gpu19;
 * measured before the GPU warm-up, not apart from it).
 */
function plannedGpuRuns(chunk: number, ranks: number, repeats: number): (readonly [string, number, number])[] {
  const runs = plannedRuns(chunk, ranks, repeats).filter(([, bytes]) => bytes <= 4 * chunk);
  return [...runs.filter(([, bytes]) => bytes <= FEW_BYTES), ...runs.filter(([, bytes]) => bytes > FEW_BYTES)];
}

async function timed(run: () => Promise<void>, algorithm: string, bytes: number, repeats: number, fastest = false): Promise<Timed> {
  return { algorithm, bytes, seconds: await medianSeconds(run, repeats, fastest) };
}

/**
 * The by-reference probe: the ring at the largest planned size (`sizes`) cut at half the agreed
 * chunk, or else at twice it, whichever sends its messages by reference as the planned run does
 * but a different count of them (shm's 8 MiB chunk: 1 MiB messages against 2 MiB at 4 and 8 ranks,
 * 4 MiB against 2 MiB at 2, where half cuts alike); undefined where neither does (messages below
 * the threshold). One ring call more a round: 14-18 ms at 4 shm ranks, 0.1-0.2 s a calibration.
 * Either chunk also changes how many pipelines overlap, which the term does not price: at 2 shm
 * ranks (twice the chunk: 2 pipelines against 4) φ came out 0.13-0.46 ms, at 4 (half: 4 against
 * 2; twice: 1 against 2) 0-0.55 ms, 0 in 7 of 12 calibrations, where bench/tune-ring-chunks.ts
 * measured 0.3 at 64 MiB (4-8 pipelines in every cut): docs/PERFORMANCE.md, ref20. Most of those
 * 0s were the own-chunk run's fresh buffer (largeSamples); with one buffer a size, 0.09-0.44 ms
 * at 4 ranks, 0 in none of 6 (phi21).
 */
function referenceProbe(comm: CalibrationComm, threshold: number, sizes: readonly number[]): Run | undefined {
  const bytes = Math.max(...sizes);
  const sends = (chunkBytes: number) => referenceSendsOf(trafficOf(comm, 'ring', bytes, chunkBytes), { bytes: threshold, message: 0 });
  const planned = sends(comm.chunkBytes);
  if (planned === 0) return undefined;
  const chunkBytes = [Math.floor(comm.chunkBytes / 32) * 16, 2 * comm.chunkBytes].find((chunk) => chunk >= 16 && sends(chunk) > 0 && sends(chunk) !== planned);
  return chunkBytes === undefined ? undefined : { algorithm: 'ring', bytes, probe: true, chunkBytes };
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
function ringReach(comm: CalibrationComm, largest: number): Run | undefined {
  if (RING_REACH_BYTES <= largest || comm.size < 2) return undefined;
  const [at, reach] = [largest, RING_REACH_BYTES].map((bytes) => trafficOf(comm, 'ring', bytes));
  // The ring's own messages are pipelines × 2(n - 1) on every rank (ringAllReduceTraffic).
  const pipelines = at!.referenceSends / (2 * (comm.size - 1));
  const fewer = pipelines < (comm.pipelineDepth ?? DEFAULT_PIPELINE_DEPTH);
  return fewer && reach!.referenceBytes > at!.referenceBytes ? { algorithm: 'ring', bytes: RING_REACH_BYTES, ownOnly: true } : undefined;
}

/** Measures this world's parameters (every rank calls it at once) and agrees on the slowest rank's. */
export async function calibrate(comm: CalibrationComm, options: CalibrationOptions = {}): Promise<Calibration> {
  const started = performance.now();
  const phases: Record<string, number> = {};
  let phaseStarted = started;
  const phaseEnds = (name: string) => {
    const now = performance.now();
    phases[name] = (now - phaseStarted) / 1000;
    phaseStarted = now;
  };
  const repeats = options.repeats ?? 5;
  const chunk = comm.chunkBytes;
  // Ranks that did not time them (rank 0 of their one host did) count 0: the maximum over ranks gives rank 0's.
  const { gamma, codecs } = (await inTurn(comm, () => hostRates(chunk))) ?? untimedRates();
  phaseEnds('host rates');
  const samples: Sample[] = [];
  let boardCollectives: number[] = [];
  let board = false;
  let threshold: number | undefined;
  let slowRank: number | undefined;
  if (comm.size > 1) {
    // The rank behind the slowest link first, placed before any schedule is timed: the tree's
    // runs below are then timed as it will run (lib/tune/placement.ts). Not on one host, whose
    // ranks' links are its memory: what the probe would see there is the ranks' turns on the
    // cores (8 shm ranks on 2: some rank at 2.3-2.5x the median in each pass, a different one).
    if (comm.size >= 3 && comm.linkFigures && !comm.oneHost) {
      slowRank = slowRankOf(await comm.linkFigures());
      comm.placeTree?.(slowRank);
    }
    // The larger runs, every size in each round (largeSamples; the few-byte runs last, see blockSamples).
    const bySize = new Map<number, { algorithms: string[] }>();
    // Not the direct exchange at an eighth of a chunk: its whole-buffer messages cost 3-4x the
    // ring's per byte (4 inproc ranks: 21.6 ns/B against 3.7-8.7 for the ring's and tree's
    // runs), a β of its own that moved the world's 2-20x between calibrations.
    for (const [algorithm, bytes] of plannedRuns(chunk, comm.size, repeats).filter(([a, b]) => b !== FEW_BYTES && a !== 'direct')) {
      const entry = bySize.get(bytes) ?? { algorithms: [] };
      entry.algorithms.push(algorithm);
      bySize.set(bytes, entry);
    }
    // The probe only where every rank's transport sends by reference (runs of one shape on every rank), at the largest threshold.
    const [without, largest] = await comm.maxAll(Float32Array.of(comm.referenceBytes === undefined ? 1 : 0, comm.referenceBytes ?? 0));
    if (without === 0) threshold = largest!;
    const probe = threshold === undefined ? undefined : referenceProbe(comm, threshold, [...bySize.keys()]);
    board = comm.board === true;
    const perCall = await untimedCalls(comm, [...FEW_ALGORITHMS, ...(board ? ['board'] : [])], WARM_CALLS, WARM_SECONDS, { longest: WARM_LONGEST_SECONDS });
    // The board's own pace (the slowest rank's, agreed) sizes its few-byte blocks.
    const boardBlock = board ? boardFewBlock(await untimedCalls(comm, ['board'], BOARD_WARM_CALLS, BOARD_WARM_SECONDS)) : 0;
    phaseEnds('warm-up');
    // The few-byte runs next, on the warm code and before any larger run: right after the larger
    // runs (where they were until tune15) a fresh process ran them 3-4x slow for 20-30 ms (2 tcp
    // ranks: ring 363-412 µs a call in the first pass of blocks, 95-140 in the next three and in
    // a second calibration), a whole pass of the few-byte rounds, so α and o doubled in some
    // calibrations and the sweep's 8 B-8 KiB calls came out 2-5x over.
    // Rounds of blocks: repeats + 1 block figures of each schedule ((LATENCY_BLOCK - 1)·(repeats + 1) timed calls: 12 by default).
    // Their lower quartiles too: what the mid sizes' points (lower quartiles) are priced beyond (curveOf).
    const few = await fewByteSamples(comm, repeats + 1, gamma, perCall);
    // The board's own fixed cost (boardFixed), in a stream of its own (boardFewSamples), kept out of the fit of call, α and o (ownOnly).
    if (board) {
      few.push(...(await boardFewSamples(comm, repeats, gamma, boardBlock)).map((s) => ({ ...s, ownOnly: true })));
      boardCollectives = await boardCollectiveSeconds(comm, repeats, boardBlock);
    }
    phaseEnds('few bytes');
    // Then the β curve's mid sizes, in blocks past untimed rounds, their lower quartiles (see
    // blockSamples, lowerQuartile), every size in each round, the rounds spread over a few time
    // slices (midSamples).
    const mid = await midSamples(comm, [
      ...CURVE_BYTES.flatMap((bytes) => ['ring', 'tree'].map((algorithm) => ({ algorithm, bytes, figure: 'lower' as const }))),
      ...directCurveBytes(comm).map((bytes) => ({ algorithm: 'direct', bytes, figure: 'lower' as const, ownOnly: true })),
    ], MID_UNTIMED_ROUNDS, gamma);
    // Only where every rank has a board (agreed at init, so the samples have one shape on every
    // rank); its sizes in rounds of their own (one untimed, as before), not among the others'.
    if (board) mid.push(...(await midSamples(comm, BOARD_CURVE_BYTES.map((bytes) => ({ algorithm: 'board', bytes, figure: boardFigure(bytes), ownOnly: true })), 1, gamma)));
    phaseEnds('mid sizes');
    const reach = ringReach(comm, Math.max(...bySize.keys()));
    samples.push(...(await largeSamples(comm, [...[...bySize].sort((x, y) => x[0] - y[0]).flatMap(([bytes, { algorithms }]) => algorithms.map((algorithm) => ({ algorithm, bytes }))), ...(probe ? [probe] : []), ...(reach ? [reach] : [])], repeats, gamma)));
    // The fastest rank's figures, as for the few-byte runs (blockSamples): a rank that left the
    // previous call early counts its wait for the last peer to join, and alternating schedules
    // leave the ranks further apart (the tree's root leaves last). The last to join waited for
    // no one, and still for the slowest link: its call cannot end before that link's bytes arrive.
    const fastest = await comm.maxAll(Float32Array.from(samples, (s) => -s.seconds));
    samples.forEach((s, i) => { samples[i] = { ...s, seconds: -fastest[i]! }; });
    samples.push(...mid);
    samples.unshift(...few);
    phaseEnds('larger runs');
  }
  const switchRuns: Timed[] = [];
  const switchStarted = performance.now();
  if (comm.aggregator && comm.size > 1) {
    for (const bytes of SWITCH_BYTES) {
      const data = new Float32Array(bytes / 4);
      // The fastest of at least 5: a lost datagram's retransmission (a timeout, not a per-packet
      // cost) makes runs many times slower, several in a row on a loaded host.
      switchRuns.push(await timed(() => { data.fill(0); return comm.allReduce(data, 'switch'); }, 'switch', bytes, Math.max(5, repeats), true));
    }
  }
  const switchSeconds = (performance.now() - switchStarted) / 1000;
  const gpuStarted = performance.now();
  // Only when every rank has a device (the vectors must have one shape on every rank).
  const [deviceless] = await comm.maxAll(Float32Array.of(comm.gpu ? 0 : 1));
  const gpu = deviceless === 0 ? comm.gpu : undefined;
  const gpuRuns: Timed[] = [];
  let gpuGamma: number | undefined;
  if (gpu) {
    gpuGamma = await gpuFoldRate(gpu);
    if (comm.size > 1) {
      // The GPU call's own code (staging, read-backs, the device's queue) warmed up as the host
      // calls' was (untimedCalls), for up to GPU_WARM_SECONDS.
      const gpuSchedules = [...FEW_ALGORITHMS, ...(board ? ['board'] : [])];
      await untimedCalls(comm, gpuSchedules, WARM_CALLS, GPU_WARM_SECONDS, { run: (algorithm) => gpu.allReduce(FEW_BYTES, algorithm) });
      // The board's few-byte call too, for its own GPU fixed cost (gpuCosts).
      const planned = plannedGpuRuns(chunk, comm.size, repeats);
      const few = planned.filter(([, bytes]) => bytes <= FEW_BYTES).length;
      const runs = [...planned.slice(0, few), ...(board ? [['board', FEW_BYTES, 2 * repeats + 1] as const] : []), ...planned.slice(few)];
      for (const [algorithm, bytes, times] of runs) gpuRuns.push(await timed(() => gpu.allReduce(bytes, algorithm), algorithm, bytes, times));
    }
    gpu.release();
  }
  const names = Object.keys(codecs).sort();
  const measured: Measured = { gamma, codecs, samples, boardCollectives, switchRuns, gpuRuns, ...(gpuGamma !== undefined && { gpuGamma }) };
  // Every rank fits the same (largest) figures with the same code: the same parameters everywhere.
  const placed = slowRank === undefined ? {} : { slowRank };
  const params = { ...parametersOf(comm, unflatten(await comm.maxAll(flatten(measured, names)), measured, names), threshold), ...placed };
  return {
    params, own: { ...parametersOf(comm, measured, threshold), ...placed }, seconds: (performance.now() - started) / 1000, phases,
    ...(switchRuns.length > 0 && { switchSeconds }), ...(gpuGamma !== undefined && { gpuSeconds: (performance.now() - gpuStarted) / 1000 }),
  };
}
