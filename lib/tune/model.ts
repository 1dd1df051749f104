// The cost model: a schedule's traffic (its formula beside the schedule, lib/collectives/
// traffic.ts) priced with calibrated parameters (params.ts):
//   time = call + messages·α + sends·o + referenceSends·φ + linkBytes·ratio·β(ratio·linkBytes) + reducedBytes·γ + linkBytes·(encode + decode) + packets·π (+ the switch's round trip)
//          (+ bytes·copy for an out-of-place host allreduce, outOfPlaceCopySeconds)
// where linkBytes is the busiest rank's, or, where calibration found a rank behind a slower link
// and measured how much slower (CostParams.slowLink), the larger of that and the slow rank's own
// bytes each way times its link's ratio (wireBytes: β is then the other links'),
// where β(bytes) is the β calibration measured at about that many link bytes (betaAt: host
// calls, on the algorithm's own curve where there is one; GPU calls keep the one β their GPU
// terms were fitted beyond; a half of an allreduce, the ring's reduce-scatter and all-gather, at
// that allreduce's link bytes: curveLinkBytes), and the board's own fixed cost (params.board) in place of
// call + messages·α + sends·o where calibration timed it,
// and for a call on GPU memory, with the GPU terms (params.gpu) where calibration measured them:
//   + gpu.call + sends·gpu.message + linkBytes·gpu.stage, and reducedBytes·gpu.gamma in place of γ
// (the board, which reduces a GPU call in host memory: its host price + gpu.call + bytes·gpu.stage),
// where referenceSends counts the busiest rank's messages that the transport sends by reference
// (their size, the formula's messageBytes, at or past params.reference.bytes) and φ is what each
// costs (params.reference.message; 0 where calibration did not measure one),
// where sends counts the communicator's agreement check too (callTraffic), and in a world whose
// ranks share one thread (params.oneThread: inproc) every rank's messages, not the busiest rank's.
// where ratio is the codec's encoded bytes per float32 byte (1 without one) and encode/decode
// its per-byte cost; a lossless, identity codec costs nothing. Pure functions of their
// arguments, so ranks given the same agreed parameters predict the same.
import { algorithmNamed, algorithmsServing, needsAgreementCheck, reducesElsewhere, type ReductionCall, type ScheduledCollective } from '../collectives/algorithms.js';
import { allSendsOf, type Traffic, type TrafficCall } from '../collectives/traffic.js';
import type { Codec } from '../memory/codec.js';
import { boardCallSeconds, isHalf, isRooted, type BetaPoint, type CostParams, type GpuCostParams, type MemoryKind, type SlowLink } from './params.js';

/** A call as the model prices it: what every traffic formula gets (bytes per rank as the call states them, count × element size), and more. */
export interface ModelCall extends TrafficCall {
  readonly collective: ScheduledCollective;
  /** How payloads travel (undefined: as they are). */
  readonly codec?: Codec;
  /** Where the call's buffers live (undefined: host memory). */
  readonly memory?: MemoryKind;
  /**
   * Price the time per call of calls run back to back, as webccl-perf times them (a rooted
   * pipeline's period, Traffic.stream), not one call alone (undefined: alone, as `auto` prices:
   * a training step's broadcast waits for its own end, not for a stream of them).
   */
  readonly backToBack?: boolean;
  /**
   * An allreduce whose receive buffer is not its send buffer: on host memory a schedule of
   * messages first copies the one into the other (CostParams.copy; undefined: in place, as
   * calibration times the schedules).
   */
  readonly outOfPlace?: boolean;
}

/** A codec's wire bytes per float32 byte, measured on a large payload. */
export function codecRatio(codec: Codec): number {
  const count = 1 << 20;
  return codec.encodedBytes(count, 'float32') / (4 * count);
}

/**
 * The traffic of `algorithm` running `call` as the communicator runs it: the schedule's formula,
 * plus the agreement check's one message to the next rank (lib/comm/agreement.ts), sent beside
 * the schedule (o, not α) where the schedule's own messages do not do the check
 * (needsAgreementCheck: not the direct exchange, nor the ring's allreduce, reduce-scatter and
 * all-gather with elements).
 * `call.backToBack`: a rooted pipeline's period (Traffic.stream) in place of its messages and link
 * bytes.
 * `oneThread` (CostParams.oneThread): every rank runs on one thread, so its `sends` are every
 * rank's messages (allSendsOf), each one's work done in turn on that thread, not the busiest
 * rank's alone.
 * Undefined where the algorithm has no formula for the call.
 */
export function callTraffic(algorithm: string, call: Omit<ModelCall, 'codec' | 'memory'>, oneThread = false): PricedTraffic | undefined {
  const row = algorithmNamed(algorithm);
  const traffic = row?.traffic?.[call.collective]?.({ bytes: call.bytes, ranks: call.ranks, chunkBytes: call.chunkBytes, ...(call.pipelineDepth !== undefined && { pipelineDepth: call.pipelineDepth }), ...(call.switchPacketValues !== undefined && { switchPacketValues: call.switchPacketValues }), ...(call.switchExponents !== undefined && { switchExponents: call.switchExponents }) });
  if (!traffic) return undefined;
  let timed: Traffic = traffic;
  if (call.backToBack && traffic.stream) {
    // The stream's own slow-rank bytes (or none: the busiest rank's), not the call's.
    const { slowRankBytes: _call, ...rest } = traffic;
    timed = { ...rest, ...traffic.stream };
  }
  const checked = needsAgreementCheck(algorithm, call.collective, call.bytes === 0, call.ranks)
    ? { ...timed, sends: timed.sends + 1, allSends: allSendsOf(timed, call.ranks) + call.ranks }
    : timed;
  // referenceSends: the schedule's own messages, before the agreement check's (a few bytes) joined them.
  const priced = { ...checked, referenceSends: traffic.sends, referenceBytes: traffic.messageBytes ?? 0 };
  return oneThread ? { ...priced, sends: allSendsOf(checked, call.ranks) } : priced;
}

/**
 * A call's traffic as the model prices it: the formula's, with the agreement check's message,
 * and the busiest rank's messages of the schedule's own (`referenceSends`, each of
 * `referenceBytes`: what referenceSendsOf compares with a transport's threshold).
 */
export interface PricedTraffic extends Traffic {
  readonly referenceSends: number;
  readonly referenceBytes: number;
}

/** The busiest rank's messages that go by reference under `reference` (none without one, or with messages below its threshold). */
export function referenceSendsOf(traffic: Partial<Pick<PricedTraffic, 'referenceSends' | 'referenceBytes'>>, reference: CostParams['reference']): number {
  if (reference === undefined || traffic.referenceSends === undefined || traffic.referenceBytes === undefined) return 0;
  return traffic.referenceBytes > 0 && traffic.referenceBytes >= reference.bytes ? traffic.referenceSends : 0;
}

/** What betaAt reads: the one β and the curves. */
type CurveParams = Pick<CostParams, 'beta' | 'betaCurve'> & Partial<Pick<CostParams, 'betaCurves' | 'rootedCurves'>>;

/**
 * β for a call whose busiest rank sends `linkBytes` on its critical path: between two of the
 * curve's points (calibration measures them a factor of 2-8 apart) linearly in log(bytes) where
 * β falls with size, linearly in bytes where it rises; the first point's below them, the last's
 * above; `beta` where there is no curve. The curve is `algorithm`'s own (betaCurves) where
 * calibration measured one, else the pooled betaCurve; a rooted `collective`'s (broadcast,
 * reduce) its schedule's rooted curve (rootedCurves) where there is one.
 * Where β rises, the larger point's calls have left the caches the smaller one's ran in, and
 * per byte they stay at the smaller one's cost until their working set passes the cache's size:
 * a step near the larger point, not a slope even in log(bytes), which put half the rise at the
 * geometric mean (2 shm ranks: the ring's points 0.38 ns/B at 4 MiB and 2.7 at 32 MiB read 1.15
 * at 8 MiB, where its calls ran at 0.41-0.50; linearly in bytes 0.71). Where β falls (mid sizes,
 * whose per-message costs spread over more bytes), log(bytes) stays: the fall is smooth.
 */
export function betaAt(params: CurveParams, linkBytes: number, algorithm?: string, collective?: ScheduledCollective): number {
  const curve = curveFor(params, algorithm, collective);
  if (curve.length === 0) return params.beta;
  const above = curve.findIndex((p) => p.linkBytes >= linkBytes);
  if (above === 0) return curve[0]!.beta;
  if (above < 0) return curve.at(-1)!.beta;
  const [lo, hi] = [curve[above - 1]!, curve[above]!];
  const f = hi.beta > lo.beta
    ? (linkBytes - lo.linkBytes) / (hi.linkBytes - lo.linkBytes)
    : Math.log(linkBytes / lo.linkBytes) / Math.log(hi.linkBytes / lo.linkBytes);
  return lo.beta + f * (hi.beta - lo.beta);
}

/**
 * The β curve that prices `algorithm` on `collective`: a rooted collective's curve of its
 * schedule where calibration timed one, else the schedule's own where calibration measured one,
 * else the pooled one.
 */
function curveFor(params: Omit<CurveParams, 'beta'>, algorithm?: string, collective?: ScheduledCollective): readonly BetaPoint[] {
  const rooted = algorithm !== undefined && isRooted(collective) ? params.rootedCurves?.[algorithm] : undefined;
  if (rooted !== undefined && rooted.length > 0) return rooted;
  const own = algorithm === undefined ? undefined : params.betaCurves?.[algorithm];
  return own !== undefined && own.length > 0 ? own : params.betaCurve;
}

/**
 * Past the last point of the curves that price them, schedules carry that point's β flat, so two
 * priced within this share of each other there are a tie the model cannot break: the cheapest's
 * lead is the two last points' noise. tcp at 4 ranks (docs/PERFORMANCE.md, reach23 and tie26)
 * priced the ring and the tree at 128–256 MiB from their 16 MiB points at 0.90–1.08 of each other
 * over ten calibrations of one world, where the ring ran faster at 11 of 12 points measured (by
 * 3–23%; at 32–64 MiB the two about even), and the tree's turn cost auto 1.15–1.36x. The goal
 * auto is held to is 10% of the best choice.
 */
export const EXTRAPOLATED_TIE = 0.1;

/** The link bytes of `algorithm` running `call` as β prices them (wireBytes), as its codec sends them; undefined without a formula. */
export function sentLinkBytes(algorithm: string, call: ModelCall, params: CostParams, traffic = callTraffic(algorithm, call, params.oneThread)): number | undefined {
  return traffic && (call.codec && !call.codec.identity ? codecRatio(call.codec) : 1) * wireBytes(traffic, params.slowLink);
}

/**
 * Where on `algorithm`'s β curve `call` is priced (betaAt's linkBytes): its sent link bytes, or for
 * a half of an allreduce (Traffic.halfOfAllReduce) that allreduce's.
 */
export function curveLinkBytes(algorithm: string, call: ModelCall, params: CostParams, traffic = callTraffic(algorithm, call, params.oneThread)): number | undefined {
  if (traffic?.halfOfAllReduce === undefined) return sentLinkBytes(algorithm, call, params, traffic);
  return sentLinkBytes(algorithm, { ...call, collective: 'allReduce', bytes: traffic.halfOfAllReduce }, params);
}

/**
 * The link bytes β prices: the busiest rank's, or where a rank is behind a slower link
 * (`slowLink`, measured by calibration's probe), the bytes the slow rank carries each way in
 * turn (Traffic.slowRankBytes; undefined: the busiest rank's) times that way's ratio, where that
 * is more. Calibration divides its runs' times by the same bytes, so β is the other links'; a
 * schedule that keeps the slow link off its path (the rooted trees' leaf, the double binary
 * tree's least-loaded label) is priced as the fast links run it.
 */
export function wireBytes(traffic: Pick<Traffic, 'linkBytes' | 'slowRankBytes'>, slowLink: SlowLink | undefined): number {
  if (slowLink === undefined) return traffic.linkBytes;
  const { sent, received } = traffic.slowRankBytes ?? { sent: traffic.linkBytes, received: traffic.linkBytes };
  return Math.max(traffic.linkBytes, sent * slowLink.send, received * slowLink.receive);
}

/** Whether `algorithm`'s call lies past the last point of the β curve that prices it (never on GPU memory, priced with one β). */
export function pricedPastCurve(algorithm: string, call: ModelCall, params: CostParams): boolean {
  if (call.memory === 'gpu' && params.gpu) return false;
  const bytes = curveLinkBytes(algorithm, call, params);
  const last = curveFor(params, algorithm, call.collective).at(-1);
  return last !== undefined && bytes !== undefined && bytes > last.linkBytes;
}

/**
 * What `algorithm`'s call costs besides its bytes: call + messages·α + sends·o + referenceSends·φ,
 * plus the schedule's own offset on an allreduce (CostParams.fixedOffsets: what its few-byte run
 * took beyond that), on a broadcast or a reduce its rooted offset (CostParams.rootedOffsets: what
 * its few-byte broadcast took beyond that; the reduce's few bytes cost about as much: 188-233
 * against 165-232 µs at 4 tcp ranks, rootfew42), on a reduce-scatter or an all-gather its own
 * (CostParams.halfOffsets, where calibration timed it; else none), never below 0; or the board's
 * own fixed cost where calibration timed it (its synchronizations are no link messages; its
 * chunks' second arrivals are priced in its curve's β, which calibration measures beyond this),
 * the collective's own where calibration timed that, a large allreduce's (`bytes` per rank) its
 * handed-over figure (params.ts's boardCallSeconds).
 */
export function fixedSeconds(algorithm: string, traffic: Pick<Traffic, 'messages' | 'sends'> & Partial<Pick<PricedTraffic, 'referenceSends' | 'referenceBytes'>>, params: Pick<CostParams, 'call' | 'alpha' | 'overhead' | 'board' | 'reference' | 'fixedOffsets' | 'rootedOffsets' | 'halfOffsets'>, collective?: ScheduledCollective, bytes?: number): number {
  if (params.board !== undefined && algorithmNamed(algorithm)?.board === true) return boardCallSeconds(params.board, collective, bytes);
  const offset = collective === undefined || collective === 'allReduce' ? params.fixedOffsets?.[algorithm] ?? 0
    : isRooted(collective) ? params.rootedOffsets?.[algorithm] ?? 0
    // A half's offset is what its few-byte calls' messages took beyond their price: a call with no message (a zero count) has none.
    : isHalf(collective) && traffic.messages > 0 ? params.halfOffsets?.[collective]?.[algorithm] ?? 0 : 0;
  return Math.max(0, params.call + traffic.messages * params.alpha + traffic.sends * params.overhead + referenceSendsOf(traffic, params.reference) * (params.reference?.message ?? 0) + offset);
}

/**
 * What a reduce's fixed part is moved by where its schedule has a rooted offset
 * (CostParams.rootedOffsets, measured on few-byte broadcasts only): the fit's price of a
 * one-element broadcast less a one-element reduce, back to back as calibration times them, so
 * that a reduce's few bytes are priced at what the broadcast's took. The fit counts the messages
 * the busiest rank sends, and a tree reduce's inner rank sends one a chunk where the broadcast's
 * sends two, but it receives two: where the fit put the per-call cost in o (one calibration of 4
 * tcp ranks: call 0, o 82 µs), the reduce's 8 bytes were priced 65 µs against the broadcast's
 * 146, where the sweep's streams of both took 180-220 (docs/PERFORMANCE.md, rootfew42). 0 on
 * anything else, and where the offset is absent.
 */
function reduceFromBroadcast(algorithm: string, call: ModelCall, params: CostParams): number {
  if (call.collective !== 'reduce' || params.rootedOffsets?.[algorithm] === undefined) return 0;
  const fewBytes = (collective: 'broadcast' | 'reduce') => {
    const traffic = callTraffic(algorithm, { ...call, collective, bytes: 4, backToBack: true }, params.oneThread);
    return traffic === undefined ? 0 : fixedSeconds(algorithm, traffic, params, collective, 4);
  };
  return fewBytes('broadcast') - fewBytes('reduce');
}

/** Predicted seconds for `algorithm` on `call`; undefined when the algorithm has no formula for it (or no rate for its codec). */
export function predictSeconds(algorithm: string, call: ModelCall, params: CostParams): number | undefined {
  if (!algorithmsServing(call.collective).some((row) => row.name === algorithm)) return undefined;
  const traffic = callTraffic(algorithm, call, params.oneThread);
  if (!traffic) return undefined;
  let ratio = 1;
  let perByte = 0;
  if (call.codec && !call.codec.identity) {
    const rate = params.codecs[call.codec.name];
    if (!rate) return undefined;
    ratio = codecRatio(call.codec);
    perByte = rate.encode + rate.decode;
  }
  // The board stages a GPU call's buffer through host memory and reduces it there: a host call of
  // its own (fixed cost, curve, host γ) plus one read and one write of the buffer (gpuStaged).
  if (call.memory === 'gpu' && params.gpu && algorithmNamed(algorithm)?.board === true) {
    return predictSeconds(algorithm, { ...call, memory: 'cpu' }, params)! + gpuStaged(call.bytes, params.gpu);
  }
  const gpu = call.memory === 'gpu' ? params.gpu : undefined;
  // The link's bytes as β prices them (wireBytes); a codec's work is on the busiest rank's own.
  const wire = wireBytes(traffic, params.slowLink);
  const beta = gpu ? params.beta : betaAt(params, curveLinkBytes(algorithm, call, params, traffic)!, algorithm, call.collective);
  const fixed = Math.max(0, fixedSeconds(algorithm, traffic, params, call.collective, call.bytes) + reduceFromBroadcast(algorithm, call, params));
  const host = fixed + wire * ratio * beta + traffic.linkBytes * perByte
    + traffic.reducedBytes * (gpu ? gpu.gamma : params.gamma)
    + (traffic.packets === undefined ? 0 : params.switchRoundTrip + traffic.packets * params.switchPacket)
    + outOfPlaceCopySeconds(algorithm, call, params);
  // Staging fitted on the same bytes as β (calibrate/gpu.ts's termsOf).
  return gpu ? host + gpu.call + traffic.sends * gpu.message + wire * ratio * gpu.stage : host;
}

/**
 * An out-of-place host allreduce's copy of its send buffer into its receive buffer
 * (lib/comm/plans.ts), which the schedules of messages make before they reduce in place: its
 * bytes at the calibrated copy rate (0 where none was measured). Not the board's, which reads the
 * send buffer where it is (AlgorithmRow.readsInput), nor the switch's (its float path reads it
 * too); GPU buffers copy on the device. Other collectives' copies are not priced: calibration
 * times allreduces only, and theirs are a share of their bytes, not all of them.
 */
function outOfPlaceCopySeconds(algorithm: string, call: ModelCall, params: Pick<CostParams, 'copy' | 'oneThread'>): number {
  const row = algorithmNamed(algorithm);
  if (call.outOfPlace !== true || call.collective !== 'allReduce' || call.memory === 'gpu' || row?.readsInput === true || row?.aggregator !== undefined) return 0;
  // A world of one thread (inproc) copies every rank's buffer in turn on it.
  return call.bytes * (params.copy ?? 0) * (params.oneThread === true ? call.ranks : 1);
}

/**
 * What a schedule that stages a GPU call's whole buffer through host memory (the board) pays
 * beyond its host call: its own GPU fixed cost where calibration timed it (gpu.board; else the
 * GPU call's extra, fitted on schedules of messages: 1-3 ms on lavapipe against the board's
 * 0.4-1.5 ms more than on host memory), and its bytes read back once and written once,
 * which is what gpu.stage prices per link byte of a schedule of messages (each sent byte read
 * back, each received one written). Not linkBytes·stage and reducedBytes·γ_gpu as the schedules
 * of messages: the board's link bytes count its copies in and out of the segment, and it folds
 * in host memory (2 shm ranks, 2 MiB on lavapipe: 16.9 ms predicted so against 4.3 measured,
 * and auto ran the ring at 3.4x the board's time).
 */
export function gpuStaged(bytes: number, gpu: GpuCostParams): number {
  return (gpu.board ?? gpu.call) + bytes * gpu.stage;
}

export interface Candidate {
  readonly algorithm: string;
  readonly seconds: number;
}

/** What rules rows out before pricing: the switch without an address, a row refusing the call. */
export interface CandidateFilter {
  /** An aggregator (switch) address is configured. */
  readonly aggregator: boolean;
  /** The reduction's dtype and op, for rows that support only some. */
  readonly call?: Omit<ReductionCall, 'ranks'>;
  /** The agreed meshThresholdBytes: rows that 'auto' runs only under it (meshThreshold) are priced only there (absent: 0, never). */
  readonly meshThresholdBytes?: number;
}

/**
 * Every algorithm that may run `call` and has a formula, with its prediction, fastest first
 * (registry order breaks ties), except past the calibrated curves (tiedPastCurves).
 */
export function candidates(call: ModelCall, params: CostParams, filter: CandidateFilter): Candidate[] {
  const priced: Candidate[] = [];
  for (const row of algorithmsServing(call.collective)) {
    if (row.aggregator !== undefined && !filter.aggregator) continue;
    // The switch and the board sum the values themselves: a hop codec's payloads cannot go through them.
    if (reducesElsewhere(row) && call.codec && !call.codec.identity) continue;
    // The board only where the transport offers one (the call says so).
    if (row.board && filter.call?.board !== true) continue;
    if (row.meshThreshold && !(call.bytes <= (filter.meshThresholdBytes ?? 0))) continue;
    if (filter.call && row.refuses?.({ ...filter.call, ranks: call.ranks }) !== undefined) continue;
    const seconds = predictSeconds(row.name, call, params);
    if (seconds !== undefined) priced.push({ algorithm: row.name, seconds });
  }
  // Stable: equal predictions keep registry order.
  return tiedPastCurves(priced.sort((a, b) => a.seconds - b.seconds), call, params);
}

/**
 * `sorted` (fastest first), with the first place given, where the fastest is priced past its
 * curve, to the schedule that sends the fewest link bytes among those within EXTRAPOLATED_TIE of
 * its price (priced past their curves or on them): the bandwidth-optimal one (the ring's 2(n−1)/n
 * of the bytes against the tree's 2), whose price grows least if per-byte costs change past the
 * measured points, and the faster where it was measured (reach23, tie26).
 */
function tiedPastCurves(sorted: Candidate[], call: ModelCall, params: CostParams): Candidate[] {
  const fastest = sorted[0];
  let bytes = fastest && sentLinkBytes(fastest.algorithm, call, params);
  if (fastest === undefined || bytes === undefined || !pricedPastCurve(fastest.algorithm, call, params)) return sorted;
  let pick = fastest;
  for (const other of sorted.slice(1)) {
    if (other.seconds > fastest.seconds * (1 + EXTRAPOLATED_TIE)) break;
    const own = sentLinkBytes(other.algorithm, call, params);
    if (own !== undefined && own < bytes) [pick, bytes] = [other, own];
  }
  return pick === fastest ? sorted : [pick, ...sorted.filter((c) => c !== pick)];
}
