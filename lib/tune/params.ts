// The parameters the cost model prices a schedule's traffic with (lib/collectives/traffic.ts),
// measured on the actual world by `webccl-perf --calibrate` (lib/tune/calibrate.ts) and agreed
// by every rank at init (rank 0's tuning file; lib/tune/tuning-file.ts). All in seconds.
import { algorithmNamed } from '../collectives/algorithms.js';
import { codecNamed } from '../collectives/codecs.js';

export type MemoryKind = 'cpu' | 'gpu';

/** What one codec costs per byte of its float32 input, on the memory that runs it. */
export interface CodecRate {
  readonly encode: number;
  readonly decode: number;
}

export interface CostParams {
  /** The memory the figures below were measured on (γ and the codec rates are that memory's). */
  readonly memory: MemoryKind;
  /** Per collective call: the communicator's fixed work (planning, queueing, the agreement check). */
  readonly call: number;
  /** Per message in sequence on a call's critical path: the link's latency (α). */
  readonly alpha: number;
  /**
   * Per message a rank sends: the sender's and receiver's fixed work (o), paid by messages in
   * flight at once too (the direct exchange's n-1), where α is paid once per hop.
   */
  readonly overhead: number;
  /** Per byte on the busiest rank's link (β): 1 / its bandwidth, fitted over every larger run (GPU-memory calls, the switch). */
  readonly beta: number;
  /**
   * β as measured at several sizes (model.ts's betaAt interpolates between them), ascending by
   * link bytes; empty: `beta` at every size. A host call's per-byte cost is not one figure: mid
   * sizes stay in cache and inside a loaded host's time slice, the ring sends them as one
   * pipeline, shm's ring slots carry them (by reference above 512 KiB), so their bytes cost
   * 0.2-5x what 4-16 MiB calls' bytes do, by world (bench/tune-sweep.ts).
   */
  readonly betaCurve: readonly BetaPoint[];
  /**
   * β curves of single schedules, by algorithm name (ring, tree): each measured like betaCurve
   * from that schedule's runs alone; a schedule without one is priced with betaCurve. Their
   * link bytes alike, schedules differ in what a byte costs: the tree's chunks go up and down
   * in sequence where the ring's steps overlap, and shm acks a 2-rank ring's step on the next
   * send; pooled, 2-rank trees at 8-32 MiB measured 1.2-2.6x the ring predicted the same
   * (bench/tune-sweep.ts), the ring over-predicted and the tree under.
   */
  readonly betaCurves: Readonly<Record<string, readonly BetaPoint[]>>;
  /**
   * β curves of the rooted collectives (ROOTED_COLLECTIVES: broadcast, reduce) by schedule name,
   * where calibration timed that schedule's broadcast (the tree); absent or without the
   * schedule: its own allreduce curve. The double binary tree's allreduce and the rooted tree
   * cost different amounts per byte their formulas count: on an even 1 Gbit rack of 4 tcp ranks
   * the tree allreduce's curve said 10.4-11.8 ns/B at 2-8 MiB where the tree broadcast's calls ran
   * at 7.6, priced 35-64% over (docs/PERFORMANCE.md, rooted40).
   */
  readonly rootedCurves?: Readonly<Record<string, readonly BetaPoint[]>>;
  /** Per byte folded into the memory by a reduction (γ). */
  readonly gamma: number;
  /**
   * Per byte of an out-of-place allreduce's copy of its send buffer into its receive buffer on
   * host memory, which a schedule of messages reduces in place (lib/comm/plans.ts), as every
   * rank copies at once (ranks on one host share its cores and memory): 4 tcp ranks on 2 vCPUs
   * copied 64 MiB in 10.4-11.8 ms a call, a tenth of the call (docs/PERFORMANCE.md, day33).
   * Absent: not measured (a file from before), and no copy is priced.
   */
  readonly copy?: number;
  /** Encode and decode cost per codec name (codecs without a rate are not chosen by 'auto'). */
  readonly codecs: Readonly<Record<string, CodecRate>>;
  /** Per packet through the switch (the software switch handles one at a time): π. */
  readonly switchPacket: number;
  /** Per switch call, the aggregator's round trip beyond call + 2α (0 where not measured). */
  readonly switchRoundTrip: number;
  /**
   * Every rank ran on one thread (inproc: one process, one event loop) when these were measured:
   * a call's time is every rank's work in turn, so o prices the messages all ranks send
   * (model.ts's callTraffic), not the busiest rank's. Absent: a world of threads or processes of
   * their own, or a file from before it was recorded (its o was fitted to the busiest rank's).
   * 8 inproc ranks' 8-byte calls cost 340 µs (ring, 112 messages in all), 100 (tree, 36) and
   * 116 (direct, 56), where their busiest ranks send 14, 5 and 7 (docs/PERFORMANCE.md, tune18).
   */
  readonly oneThread?: boolean;
  /**
   * What a message sent by reference costs (where the transport has a single-copy threshold and
   * calibration could tell it from the bytes): absent, messages of every size are priced by
   * their bytes alone, as before it was measured.
   */
  readonly reference?: ReferenceCostParams;
  /** What GPU-memory calls pay besides (or instead of) the host figures; absent: priced as host calls. */
  readonly gpu?: GpuCostParams;
  /**
   * The collective board's own fixed cost (where the transport has one and calibration timed
   * it); absent (a file of a world without a board, or of an older calibration): its calls are
   * priced with call + α per synchronization, as a schedule of messages.
   */
  readonly board?: BoardCostParams;
  /**
   * The rank calibration found behind the slowest link (lib/tune/placement.ts), which the double
   * binary tree places at a root/leaf label (tree-topology.ts's placedLabels), so the tree's
   * figures above were measured with it there. Absent: no rank was clearly slower (or a file of
   * an older calibration): the identity labels.
   */
  readonly slowRank?: number;
  /**
   * How much slower the slow rank's link is than the others', each way (placement.ts's
   * slowLinkRatios): the model prices a schedule's link bytes at the larger of its busiest rank's
   * and the slow rank's, each way, times these (model.ts's wireBytes), so a schedule that keeps
   * the slow link off its critical path is priced as the fast links run it. Absent (no slow rank,
   * or an older calibration's file): β is the slowest link's for every schedule, as before.
   */
  readonly slowLink?: SlowLink;
  /**
   * Each schedule's fixed part beyond call + messages·α + sends·o, by algorithm name (ring, tree,
   * direct), for allreduces: what its own few-byte run took beyond what the shared fit prices it
   * at (calibrate.ts's fixedOffsetsOf), negative where the one α over-prices that schedule's hops
   * (above 0 only where the schedule's median and lower quartile both lie over their fits, the
   * smaller of the two: a figure over the fit may be a stall, which moves the median only).
   * One α and o for every schedule, each ≥ 0, leave the fit off some schedule's few-byte figure:
   * 4 tcp processes on 2 cores priced the tree's fixed part at 774-1018 µs where its own few-byte
   * calls took 688-1031 (lower quartiles 563-660), so its 64 KiB point's β was clamped at 0 and the
   * tree priced 1.5-1.9x its time at 64 KiB-1 MiB (docs/PERFORMANCE.md, reach23 (b)). Absent (a
   * file of an older calibration, or a schedule calibration did not time): 0, priced as before.
   */
  readonly fixedOffsets?: Readonly<Record<string, number>>;
  /**
   * The same for the rooted collectives (ROOTED_COLLECTIVES: broadcast, reduce), by schedule name
   * (tree, ring): what each schedule's few-byte broadcast took beyond what the allreduces' fit
   * prices it at (calibrate/few-bytes.ts's rootedFewSamples, fixedOffsetsOf). The fit's call is an
   * allreduce's, and a broadcast of a few bytes costs less than it: 4 tcp ranks on 2 vCPUs priced
   * every 8 B-32 KiB broadcast and reduce at 340-375 µs where they took 165-275 (docs/
   * PERFORMANCE.md, rootfew42). Absent (an older file, a world without a rooted run): 0.
   */
  readonly rootedOffsets?: Readonly<Record<string, number>>;
  /**
   * The same for the halves of an allreduce (HALF_COLLECTIVES: reduce-scatter, all-gather), by
   * collective, then schedule name (the ring): what each one's few-byte calls took beyond what the
   * allreduces' fit prices them at (calibrate/few-bytes.ts's halfFewSamples). The fit's call and α
   * are an allreduce's: 4 ntcp ranks on 2 vCPUs priced the ring's 64 B-32 KiB reduce-scatters and
   * all-gathers at 798-858 µs where they took 469-796 (docs/PERFORMANCE.md, halves46). Absent (an
   * older file, a world where they were not timed): 0.
   */
  readonly halfOffsets?: Readonly<Partial<Record<HalfCollective, Readonly<Record<string, number>>>>>;
}

/**
 * The board sends no message: what a call of it costs with no bytes is neither the link's α nor
 * the communicator's fitted call (2 shm ranks: call + α 191 µs against 83-130 measured for its
 * 8-byte calls; 4 ranks 426 against 190-250), but its own arrival, spin, hand-over to its
 * thread and completion, timed at a few bytes.
 */
export interface BoardCostParams {
  /** Per call, everything but its bytes: the few-byte allreduce's time in a stream. */
  readonly call: number;
  /**
   * The same of each other collective the board serves, where calibration timed it (absent: `call`,
   * as in older files). Not the allreduce's: its small calls finish on the JS thread when the peers
   * are there (one arrival, each rank folding every lane), where the others make two arrivals
   * through the board's thread (4 shm ranks, 8-byte calls in a stream: allreduce 253 µs,
   * reduce-scatter 551, all-gather 405, broadcast 343, reduce 401; at 2 ranks 147-200).
   */
  readonly collectives?: Readonly<Partial<Record<BoardCollective, number>>>;
  /**
   * Per allreduce past BOARD_JS_THREAD_BYTES, everything but its bytes, where calibration fitted
   * it from the board's curve points past that size (absent: `call`, as in older files). Those
   * calls run the sliced schedule (two arrivals or more), on the JS thread for up to 2 ms and then
   * on the board's (at once until session 13: docs/PERFORMANCE.md, bw13); the smaller ones one
   * arrival, spinning on the JS thread for their peers (native/src/board.cc), which `call` prices: with ranks sharing one event loop the
   * spin keeps the peers from arriving, and 4 shm ranks ran 8 B-32 KiB calls at 544-684 µs but
   * 128 KiB ones at 206-356, priced at 714-917 with `call` (docs/PERFORMANCE.md, tune11).
   */
  readonly handedOver?: number;
}

/** Board calls up to this many bytes per rank spin on the JS thread for up to the spin in all (native/src/board.cc's kSmallBytes); larger ones for up to 2 ms. */
export const BOARD_JS_THREAD_BYTES = 64 << 10;

/** The board's collectives besides the allreduce, each timed for a fixed cost of its own (BoardCostParams.collectives). */
export const BOARD_COLLECTIVES = ['reduceScatter', 'allGather', 'broadcast', 'reduce'] as const;
export type BoardCollective = (typeof BOARD_COLLECTIVES)[number];

/** The collectives a root sends from or gathers to, priced on CostParams.rootedCurves where their schedule has one. */
export const ROOTED_COLLECTIVES = ['broadcast', 'reduce'] as const;
export type RootedCollective = (typeof ROOTED_COLLECTIVES)[number];

/** Whether `collective` is one of ROOTED_COLLECTIVES. */
export function isRooted(collective: string | undefined): collective is RootedCollective {
  return isOneOf(ROOTED_COLLECTIVES, collective);
}

function isOneOf<T extends string>(names: readonly T[], name: string | undefined): name is T {
  return (names as readonly string[]).includes(name ?? '');
}

/** The halves of an allreduce (the ring's), each timed at a few bytes for a fixed part of its own (CostParams.halfOffsets). */
export const HALF_COLLECTIVES = ['reduceScatter', 'allGather'] as const;
export type HalfCollective = (typeof HALF_COLLECTIVES)[number];

/** Whether `collective` is one of HALF_COLLECTIVES. */
export function isHalf(collective: string | undefined): collective is HalfCollective {
  return isOneOf(HALF_COLLECTIVES, collective);
}

/** The collectives besides the allreduce that calibration times runs of (Sample.collective). */
export type TimedCollective = RootedCollective | HalfCollective;

/**
 * What a board call of `collective` costs besides its bytes: its own figure where calibration timed
 * one, else the allreduce's; an allreduce of more than BOARD_JS_THREAD_BYTES (`bytes` per rank)
 * its handed-over figure where calibration fitted one.
 */
export function boardCallSeconds(board: BoardCostParams, collective?: string, bytes?: number): number {
  const allReduce = collective === undefined || collective === 'allReduce';
  if (allReduce && board.handedOver !== undefined && bytes !== undefined && bytes > BOARD_JS_THREAD_BYTES) return board.handedOver;
  const own = collective === undefined ? undefined : board.collectives?.[collective as BoardCollective];
  return own ?? board.call;
}

/**
 * shm sends a message of `bytes` or more by reference (a descriptor, the receiver's
 * process_vm_readv, its ack: lib/transport/shm/shm-channel.ts), a fixed cost per message that
 * per-byte β cannot carry: the ring's messages grow with the call (its chunk is capped at the
 * agreed size, not its count), so a β fitted at 16 MiB (2 MiB messages at 4 ranks) priced 256
 * MiB (8 MiB ones, a quarter as many per byte) +31-42% over (docs/PERFORMANCE.md, big19).
 */
export interface ReferenceCostParams {
  /** Messages of this many bytes or more go by reference (the transport's single-copy threshold). */
  readonly bytes: number;
  /** Per message sent by reference, beyond o (the receiver's read request and ack, a round trip). */
  readonly message: number;
}

/** The slow rank's link against the others': one-way transfer times, theirs over the others' (1: as fast). */
export interface SlowLink {
  /** What the slow rank sends, against another rank's sends to the same receiver. */
  readonly send: number;
  /** What the slow rank receives, against another rank's receives from the same sender. */
  readonly receive: number;
}

/** β measured on calls whose busiest rank sends `linkBytes` on its critical path. */
export interface BetaPoint {
  readonly linkBytes: number;
  readonly beta: number;
}

/**
 * GPU memory's terms (lib/tune/calibrate.ts measures them on the communicator's device): a GPU
 * call's bytes are staged through host memory (read back before they are sent, written after
 * they arrive) and each step is a submission the host waits for.
 */
export interface GpuCostParams {
  /** Per call, beyond the host call cost (buffer checks, the first submission). */
  readonly call: number;
  /** Per message sent, beyond o (a submission and its read-back round trip). */
  readonly message: number;
  /** Per byte on the link, beyond β: staging it between GPU and host memory (σ_gpu). */
  readonly stage: number;
  /** Per byte folded by the device's reduction kernel (γ_gpu, in place of γ). */
  readonly gamma: number;
  /**
   * Per board call on GPU memory, beyond its host price: reading the buffer back and writing it
   * (model.ts's gpuStaged; bytes·stage on top). Absent: `call` (a file of a world without a
   * board, or of an older calibration).
   */
  readonly board?: number;
}

/**
 * What the hop codecs cost per float32 byte where nothing was calibrated, as calibration times
 * them (a quarter chunk, 256 KiB, in cache; the 2-vCPU host of docs/PERFORMANCE.md's rate22),
 * for the TypeScript loops: the browser's, and Node's without the addon.
 */
export const TYPESCRIPT_CODEC_RATES: Readonly<Record<string, CodecRate>> = {
  bf16: { encode: 0.5e-9, decode: 0.4e-9 }, fp16: { encode: 1.7e-9, decode: 0.35e-9 }, int8: { encode: 7e-9, decode: 1.4e-9 }, onebit: { encode: 2.9e-9, decode: 0.8e-9 },
};

/** The same for the addon's SIMD loops (lib/cpu/native-reducer.ts): 10-100x faster. */
export const NATIVE_CODEC_RATES: Readonly<Record<string, CodecRate>> = {
  bf16: { encode: 0.03e-9, decode: 0.015e-9 }, fp16: { encode: 0.015e-9, decode: 0.02e-9 }, int8: { encode: 0.16e-9, decode: 0.02e-9 }, onebit: { encode: 0.16e-9, decode: 0.026e-9 },
};

/**
 * Used where nothing was calibrated (webccl-perf's predicted column, `--explain` without a
 * file): 2-core loopback figures of this repository's README (50 µs a call and a message in
 * sequence, split evenly between latency and fixed work, 1 GB/s a link,
 * 2 GB/s a host reduction, the software switch's rate below), with the TypeScript codecs'
 * rates; defaultCostParams() gives the process's own codecs'.
 */
export const DEFAULT_COST_PARAMS: CostParams = {
  memory: 'cpu', call: 50e-6, alpha: 25e-6, overhead: 25e-6, beta: 1e-9, betaCurve: [], betaCurves: {}, gamma: 0.5e-9,
  codecs: TYPESCRIPT_CODEC_RATES,
  // π per 4096-value packet (what the switch's formula counts by default): the native plane's 10 M elements/s at 2 workers.
  switchPacket: 400e-6, switchRoundTrip: 0,
};

/**
 * The defaults with the rates of the codec loops that run (a communicator's agreed codecLoops,
 * or a process's own: cpuReducer().codecLoops): priced with the TypeScript rates, a Node
 * process with the addon passed over codecs that pay at the defaults' 1 GB/s link (int8 costs
 * 0.18 ns a byte natively against the 0.75 it saves).
 */
export function defaultCostParams(codecLoops: 'typescript' | 'native' | undefined): CostParams {
  return codecLoops === 'native' ? { ...DEFAULT_COST_PARAMS, codecs: NATIVE_CODEC_RATES } : DEFAULT_COST_PARAMS;
}

/** Fields a file may lack (written before they were measured): each gets its default, and the reader names it. */
export const OPTIONAL_COST_FIELDS = ['overhead', 'switchRoundTrip', 'gpu', 'betaCurve', 'betaCurves'] as const;

/** At most this many points in a β curve (calibration measures a handful). */
const MAX_BETA_POINTS = 32;

function seconds(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 3600) throw new Error(`${what} ${JSON.stringify(value)} is not a number of seconds in [0, 3600]`);
  return value;
}

function flag(what: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new Error(`${what} ${JSON.stringify(value)} is not true or false`);
  return value;
}

function rankNumber(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`${what} ${JSON.stringify(value)} is not a rank (a whole number >= 0)`);
  return value;
}

/** The most a slow link's ratio may be (and the least, its inverse): a link a thousand times slower is priced as that. */
export const MAX_SLOW_LINK_RATIO = 1000;

function slowLinkParams(raw: unknown): SlowLink {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('slowLink is not an object of { send, receive } ratios');
  const r = raw as Record<string, unknown>;
  const ratio = (what: string, value: unknown) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_SLOW_LINK_RATIO) throw new Error(`slowLink.${what} ${JSON.stringify(value)} is not a ratio in (0, ${MAX_SLOW_LINK_RATIO}]`);
    return value;
  };
  return { send: ratio('send', r['send']), receive: ratio('receive', r['receive']) };
}

function gpuParams(raw: unknown): GpuCostParams {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('gpu is not an object of GPU-memory costs');
  const g = raw as Record<string, unknown>;
  return {
    call: seconds('gpu.call', g['call']), message: seconds('gpu.message', g['message']), stage: seconds('gpu.stage', g['stage']), gamma: seconds('gpu.gamma', g['gamma']),
    ...(g['board'] !== undefined && { board: seconds('gpu.board', g['board']) }),
  };
}

function referenceParams(raw: unknown): ReferenceCostParams {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('reference is not an object { bytes, message } of messages sent by reference');
  const r = raw as Record<string, unknown>;
  const bytes = r['bytes'];
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`reference.bytes ${JSON.stringify(bytes)} is not a whole number of bytes >= 0`);
  return { bytes, message: seconds('reference.message', r['message']) };
}

function boardParams(raw: unknown): BoardCostParams {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('board is not an object of the board\'s costs');
  const b = raw as Record<string, unknown>;
  const call = seconds('board.call', b['call']);
  // Absent in files from before calibration fitted it: the board's large calls are priced at `call`.
  const handedOver = b['handedOver'] === undefined ? {} : { handedOver: seconds('board.handedOver', b['handedOver']) };
  // Absent in files from before the board's other collectives were timed: they are priced at `call`.
  if (b['collectives'] === undefined) return { call, ...handedOver };
  const c = b['collectives'];
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error('board.collectives is not an object of seconds by collective');
  const collectives: Partial<Record<BoardCollective, number>> = {};
  for (const [name, value] of Object.entries(c)) {
    if (!(BOARD_COLLECTIVES as readonly string[]).includes(name)) throw new Error(`board.collectives.${name} is not one of ${BOARD_COLLECTIVES.join(', ')}`);
    collectives[name as BoardCollective] = seconds(`board.collectives.${name}`, value);
  }
  return { call, collectives, ...handedOver };
}

function betaCurve(raw: unknown, what = 'betaCurve'): BetaPoint[] {
  if (!Array.isArray(raw) || raw.length > MAX_BETA_POINTS) throw new Error(`${what} is not a list of at most ${MAX_BETA_POINTS} { linkBytes, beta } points`);
  return raw.map((point: unknown, i) => {
    const p = (point ?? {}) as Record<string, unknown>;
    const linkBytes = p['linkBytes'];
    if (typeof linkBytes !== 'number' || !Number.isFinite(linkBytes) || linkBytes <= 0) throw new Error(`${what}[${i}].linkBytes ${JSON.stringify(linkBytes)} is not a positive number of bytes`);
    if (i > 0 && !(linkBytes > (raw[i - 1] as BetaPoint).linkBytes)) throw new Error(`${what}[${i}].linkBytes ${linkBytes} does not follow ${(raw[i - 1] as BetaPoint).linkBytes}: the points must ascend`);
    return { linkBytes, beta: seconds(`${what}[${i}].beta`, p['beta']) };
  });
}

/** A signed number of seconds (an offset may take off what the shared fit over-prices). */
function signedSeconds(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > 3600) throw new Error(`${what} ${JSON.stringify(value)} is not a number of seconds in [-3600, 3600]`);
  return value;
}

function fixedOffsets(raw: unknown, field = 'fixedOffsets'): Record<string, number> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${field} is not an object of seconds by algorithm name`);
  const offsets: Record<string, number> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!algorithmNamed(name)) throw new Error(`${field} names '${name}', which is no algorithm`);
    offsets[name] = signedSeconds(`${field}.${name}`, value);
  }
  return offsets;
}

function halfOffsets(raw: unknown): Partial<Record<HalfCollective, Record<string, number>>> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('halfOffsets is not an object of offsets by collective');
  const offsets: Partial<Record<HalfCollective, Record<string, number>>> = {};
  for (const [collective, value] of Object.entries(raw)) {
    if (!isHalf(collective)) throw new Error(`halfOffsets names '${collective}', which is not one of ${HALF_COLLECTIVES.join(', ')}`);
    offsets[collective] = fixedOffsets(value, `halfOffsets.${collective}`);
  }
  return offsets;
}

function betaCurves(raw: unknown, field = 'betaCurves'): Record<string, BetaPoint[]> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${field} is not an object of beta curves by algorithm name`);
  const curves: Record<string, BetaPoint[]> = {};
  for (const [name, curve] of Object.entries(raw)) {
    if (!algorithmNamed(name)) throw new Error(`${field} names '${name}', which is no algorithm`);
    curves[name] = betaCurve(curve, `${field}.${name}`);
  }
  return curves;
}

/**
 * Checks the shape of parameters read from a file or a peer; throws an Error naming the field.
 * A field of OPTIONAL_COST_FIELDS that is absent takes its default (no GPU terms: GPU calls
 * priced as host ones) and is listed in `missing`, for the reader's WARN.
 */
export function checkCostParams(raw: unknown, missing: string[] = []): CostParams {
  if (typeof raw !== 'object' || raw === null) throw new Error('the cost parameters are not an object');
  const p = raw as Record<string, unknown>;
  if (p['memory'] !== 'cpu' && p['memory'] !== 'gpu') throw new Error(`memory ${JSON.stringify(p['memory'])} is not 'cpu' or 'gpu'`);
  const codecsRaw = p['codecs'];
  if (typeof codecsRaw !== 'object' || codecsRaw === null || Array.isArray(codecsRaw)) throw new Error('codecs is not an object of rates by codec name');
  const codecs: Record<string, CodecRate> = {};
  for (const [name, rate] of Object.entries(codecsRaw)) {
    if (!codecNamed(name)) throw new Error(`codecs names '${name}', which is no codec`);
    const r = (rate ?? {}) as Record<string, unknown>;
    codecs[name] = { encode: seconds(`codecs.${name}.encode`, r['encode']), decode: seconds(`codecs.${name}.decode`, r['decode']) };
  }
  return {
    memory: p['memory'], call: seconds('call', p['call']), alpha: seconds('alpha', p['alpha']),
    // A file from before o was measured: its α priced every message, in flight at once or not.
    overhead: p['overhead'] === undefined ? (missing.push('overhead'), 0) : seconds('overhead', p['overhead']),
    beta: seconds('beta', p['beta']), gamma: seconds('gamma', p['gamma']),
    // A file from before β was measured by size: its one β at every size.
    betaCurve: p['betaCurve'] === undefined ? (missing.push('betaCurve'), []) : betaCurve(p['betaCurve']),
    // A file from before the schedules' own curves: every schedule priced with the pooled one.
    betaCurves: p['betaCurves'] === undefined ? (missing.push('betaCurves'), {}) : betaCurves(p['betaCurves']),
    codecs, switchPacket: seconds('switchPacket', p['switchPacket']),
    switchRoundTrip: p['switchRoundTrip'] === undefined ? (missing.push('switchRoundTrip'), DEFAULT_COST_PARAMS.switchRoundTrip) : seconds('switchRoundTrip', p['switchRoundTrip']),
    ...(p['gpu'] === undefined ? (missing.push('gpu'), {}) : { gpu: gpuParams(p['gpu']) }),
    // Not named when absent: only worlds with a board have it, and without it the board is priced as before.
    ...(p['board'] !== undefined && { board: boardParams(p['board']) }),
    // Not named when absent: only worlds that send by reference have it, and without it every message is priced by its bytes, as before.
    ...(p['reference'] !== undefined && { reference: referenceParams(p['reference']) }),
    // Not named when absent: only one-thread worlds have it, and an older file's o was fitted without it.
    ...(p['oneThread'] !== undefined && { oneThread: flag('oneThread', p['oneThread']) }),
    // Not named when absent: no slow rank was found, or an older calibration placed none.
    ...(p['slowRank'] !== undefined && { slowRank: rankNumber('slowRank', p['slowRank']) }),
    // Not named when absent: no slow rank was found, or an older calibration measured its link's β as every link's.
    ...(p['slowLink'] !== undefined && { slowLink: slowLinkParams(p['slowLink']) }),
    // Not named when absent: an older calibration's file, whose out-of-place calls are priced as in-place ones, as before.
    ...(p['copy'] !== undefined && { copy: seconds('copy', p['copy']) }),
    // Not named when absent: an older calibration's file, whose schedules are priced by the shared fit alone (offset 0), as before.
    ...(p['fixedOffsets'] !== undefined && { fixedOffsets: fixedOffsets(p['fixedOffsets']) }),
    // Not named when absent: an older calibration's file, whose rooted calls are priced on their schedules' allreduce curves, as before.
    ...(p['rootedCurves'] !== undefined && { rootedCurves: betaCurves(p['rootedCurves'], 'rootedCurves') }),
    // Not named when absent: an older calibration's file, whose rooted calls' fixed part is the allreduces' fit's, as before.
    ...(p['rootedOffsets'] !== undefined && { rootedOffsets: fixedOffsets(p['rootedOffsets'], 'rootedOffsets') }),
    // Not named when absent: an older calibration's file, whose reduce-scatters' and all-gathers' fixed part is the allreduces' fit's, as before.
    ...(p['halfOffsets'] !== undefined && { halfOffsets: halfOffsets(p['halfOffsets']) }),
  };
}
