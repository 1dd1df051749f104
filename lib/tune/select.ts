// Algorithm selection among the rows of the registry (lib/collectives/algorithms.ts) that
// serve a collective. A name the user chose holds where that algorithm serves the call; 'auto'
// goes by size: the direct exchange (one hop) for the smallest allreduces, the double binary
// tree (latency grows with log n) below a threshold, the ring (bandwidth-optimal) above it, or
// up to the transport's mesh threshold (ntcp) the mesh allreduce (the ring's bytes in two hops).
// The thresholds are part of the communicator's agreed configuration, so every rank picks the
// same algorithm for the same call; the choice depends only on what is in the call's signature
// and the communicator's size.
// Rows that reduce through an aggregator (switch) are chosen by 'auto' only when the agreed
// configuration names one (a switch address), and only for calls they support; a call they
// do not support then goes to the size-based choice, with a note saying why (logged at INFO by
// the communicator). Named explicitly, such a row refuses an unsupported call: InvalidArgument.
//
// With calibrated parameters in the agreed configuration (a tuning file rank 0 read at init),
// 'auto' takes instead the algorithm the cost model (model.ts) predicts fastest among those that
// may run the call (the mesh only up to the mesh threshold), and,
// when the call lets it pick the codec (compression 'auto' with a tolerance), the fastest
// (algorithm, codec) pair among codecs whose stated error bound fits.
// The parameters are rank 0's, so the choice is still the same on every rank.
// After Communicator.tune() (lib/comm/tuned-calls.ts) has timed the model's nearest candidates
// for a call's shape on the world itself, 'auto' takes the fastest of them for that shape.
// Where the transport offers a shared-memory board (ranks on one host, the shm world), 'auto'
// without a tuning file (or with one that did not time the board) picks the board algorithm for
// host-memory calls of every collective it serves (allreduce, reduce, reduce-scatter, allgather,
// broadcast: faster than the ring and the tree at 2 and 4 ranks from 8 B to 8 MiB, and than
// the direct exchange at 2 ranks from 8 B to 32 KiB, docs/PERFORMANCE.md).
import { algorithmNamed, algorithmsServing, type ReductionCall, type ScheduledCollective } from '../collectives/algorithms.js';
import { isFloat, type DataType } from '../dtype.js';
import { internalError, invalidArgument } from '../errors.js';
import type { SwitchExponents } from '../collectives/switch-allreduce.js';
import type { Codec } from '../memory/codec.js';
import { candidates, type Candidate, type ModelCall } from './model.js';
import { defaultCostParams, type CostParams, type MemoryKind } from './params.js';

/** Messages up to this many bytes per rank use the tree when the algorithm is 'auto'. */
export const DEFAULT_TREE_THRESHOLD_BYTES = 64 * 1024;
/** Allreduces whose direct exchange sends up to this many bytes per rank use it under 'auto' (0: never). */
export const DEFAULT_DIRECT_THRESHOLD_BYTES = 32 * 1024;

export interface TuningConfig {
  /** A selectable algorithm's name, or 'auto'. */
  readonly algorithm: string;
  readonly treeThresholdBytes: number;
  readonly directThresholdBytes: number;
  /**
   * Allreduces of up to this many bytes run the mesh (two hops) under 'auto' from 3 ranks up,
   * where they would otherwise run the ring; absent or 0: never. The transport proposes it
   * (Transport.meshThresholdBytes): the ntcp transport's ring steps each cost thread wake-ups.
   * With a tuning file the model prices the mesh against the others, up to this size only.
   */
  readonly meshThresholdBytes?: number;
  /** The switch's 'host:port' ('' or absent: none, so no aggregator row is chosen by 'auto'). */
  readonly switch?: string;
  /**
   * Where float32 switch calls agree their exponents, present with a switch: 'link' (over the
   * ranks' link first), 'stream' (inside the packet stream, as SwitchML does) or 'auto' (the
   * stream from STREAM_EXPONENTS_RANKS ranks on, the link below; lib/collectives/switch-allreduce.ts
   * says why). Rank 0's holds: every rank must send the same packets, so a configuration without it
   * (a peer of a version that left 'link' implicit) is refused rather than read as a default.
   */
  readonly switchExponents?: SwitchExponents;
  /** Values per switch packet (a number once agreed at init): the switch's formula counts packets of that size. */
  readonly switchPacketValues?: number | 'auto';
  /** Calibrated parameters (rank 0's tuning file) and the digest of the file they came from. */
  readonly tuning?: AgreedTuning;
  /** Bytes per pipelined message (the model counts chunks); absent: 1 MiB. */
  readonly chunkBytes?: number;
  /** Chunk pipelines in flight at once (the model counts their waves); absent: the default. */
  readonly pipelineDepth?: number;
  /**
   * 'native' where rank 0's codecs run the addon's loops (CpuReducer.codecLoops): without a tuning
   * file, compression 'auto' then prices codecs at their rates, else at the TypeScript ones. Rank
   * 0's holds, so that ranks with and without the addon (a browser tab, say) choose alike.
   */
  readonly codecLoops?: 'native';
  /**
   * The algorithms Communicator.tune() timed fastest, by measuredKey: 'auto' runs them for those
   * calls, over the model and the size thresholds (an explicit choice still wins). Every rank
   * holds the same (the choice is the least of timings all ranks agreed), so it is part of the
   * agreed configuration, though it is added after init.
   */
  readonly measured?: Readonly<Record<string, string>>;
}

export interface AgreedTuning {
  readonly params: CostParams;
  /** sha-256 of the tuning file's bytes (hex), so logs show which file every rank uses. */
  readonly digest: string;
}

export interface Choice {
  readonly algorithm: string;
  /** Why 'auto' passed over an aggregator row it would otherwise have picked. */
  readonly fallback?: string;
  /** The model's prediction for the choice, in seconds (when the model chose). */
  readonly predicted?: number;
  /** The codec the model chose among `codecs` (when the call offered several). */
  readonly codec?: Codec;
}

/** What the choice knows of a call besides its shape: the reduction's (ReductionCall's), and whether an allreduce runs out of place (ModelCall.outOfPlace: its copy is priced). */
export type PricedCall = Omit<ReductionCall, 'ranks'> & { readonly outOfPlace?: boolean };

/** A call that lets the model choose its codec: the codecs whose error bound fits, identity first. */
export interface CodecOffer {
  readonly codecs: readonly Codec[];
}

/**
 * The algorithm for one call of `collective` moving `bytes` per rank among `ranks`. `requested`
 * is the call's own option, which takes precedence over the communicator's setting.
 */
export function selectAlgorithm(collective: ScheduledCollective, bytes: number, ranks: number, config: TuningConfig, requested?: string): string {
  return chooseAlgorithm(collective, bytes, ranks, config, requested).algorithm;
}

/**
 * selectAlgorithm, with the reduction's dtype and op (`call`) for rows that support only some,
 * and the reason when 'auto' fell back from an aggregator row. Throws InvalidArgument when
 * the algorithm named (by the call or the configuration) refuses the call. `memory` (the call's
 * buffers', host when absent) picks the model's GPU terms.
 */
export function chooseAlgorithm(
  collective: ScheduledCollective, bytes: number, ranks: number, config: TuningConfig, requested?: string, call?: PricedCall,
  offer?: CodecOffer, memory?: MemoryKind,
): Choice {
  const serving = algorithmsServing(collective).map((row) => row.name);
  if (serving.length === 0) throw internalError(`no algorithm implements ${collective}`);
  const setting = requested ?? config.algorithm;
  const refusal = (name: string) => (call ? algorithmNamed(name)?.refuses?.({ ...call, ranks }) : undefined);
  // A call that offers codecs asked for the model: uncalibrated, it prices with the defaults.
  const params = config.tuning?.params ?? (offer ? defaultCostParams(config.codecLoops) : undefined);
  if (serving.includes(setting)) {
    const row = algorithmNamed(setting)!;
    if (row.aggregator !== undefined && !config.switch) throw invalidArgument(`the ${setting} algorithm needs a switch address (init option switch: 'host:port' or WEBCCL_SWITCH)`);
    const refused = refusal(setting);
    if (refused !== undefined) throw invalidArgument(refused);
    return (offer && params && modelChoice(collective, bytes, ranks, { config, params, offer, call, memory }, setting)) || { algorithm: setting };
  }
  const measured = setting === 'auto' && !offer && call !== undefined ? config.measured?.[measuredKey(collective, bytes, ranks, call, memory)] : undefined;
  if (measured !== undefined) return { algorithm: measured };
  let fallback: string | undefined;
  if (setting === 'auto' && config.switch) {
    for (const name of serving.filter((name) => algorithmNamed(name)!.aggregator !== undefined)) {
      fallback = refusal(name);
      if (fallback === undefined && !params) return { algorithm: name };
    }
  }
  // Ranks sharing one host's memory: without calibration the board takes every host call of the
  // collectives it serves (faster than any schedule of messages at every size measured,
  // docs/PERFORMANCE.md); GPU buffers, which it would stage through the host, keep the others.
  // At 2 ranks too, where the direct exchange kept its sizes until the board's small calls lost
  // most of their JavaScript and their wait yields its core (2 shm ranks, 8 B-32 KiB, session 9:
  // board 3.7-20 / 19-60 µs at the 10th / 50th percentile, direct 45-131 / 76-228).
  const board = setting === 'auto' && ranks > 1 && memory !== 'gpu' && serving.includes('board') && call?.board === true && refusal('board') === undefined;
  // A tuning file written before calibration timed the board has no curve of the board's own and
  // prices it with the transport's per-message costs, which it does not pay; the model then
  // passed it over for schedules 2-5x slower (shm, 4 ranks, 1-16 MiB). With such a file the
  // board keeps host calls (the model still prices it, for the predicted column); a call that
  // offers lossy codecs is the model's to choose.
  const boardUnpriced = board && !offer && params?.betaCurves['board'] === undefined;
  const modelled = setting === 'auto' && params ? modelChoice(collective, bytes, ranks, { config, params, offer, call, memory }, boardUnpriced ? 'board' : undefined) : undefined;
  const algorithm = modelled?.algorithm ?? (board ? 'board' : sizeBased(serving, bytes, ranks, config, setting));
  const choice = modelled ?? { algorithm };
  return fallback === undefined ? choice : { ...choice, fallback };
}

/**
 * The fastest (algorithm, codec) by the model: over every algorithm that may run the call (only
 * `only` when one was named), and over the offered codecs (else the call's own, none). Undefined
 * when no algorithm has a formula for the collective.
 */
/** What the model prices a call with besides its shape. */
interface Pricing {
  readonly config: TuningConfig;
  readonly params: CostParams;
  readonly offer: CodecOffer | undefined;
  readonly call: PricedCall | undefined;
  readonly memory: MemoryKind | undefined;
}

function modelChoice(collective: ScheduledCollective, bytes: number, ranks: number, pricing: Pricing, only?: string): Choice | undefined {
  const { config, offer, call } = pricing;
  // Training loops repeat the same few calls: the choice is kept per configuration and call.
  let memo = choices.get(config);
  if (!memo) choices.set(config, (memo = new Map()));
  const key = `${collective}/${bytes}/${ranks}/${call?.dtype}/${String(call?.op && typeof call.op === 'object' ? 'premulSum' : call?.op)}/${offer?.codecs.map((c) => c.name).join(',')}/${only}/${pricing.memory}/${call?.outOfPlace === true}`;
  if (memo.has(key)) return memo.get(key);
  if (memo.size >= MEMO_LIMIT) memo.clear();
  const choice = pricedChoice(collective, bytes, ranks, pricing, only);
  memo.set(key, choice);
  return choice;
}

const choices = new WeakMap<TuningConfig, Map<string, Choice | undefined>>();
const MEMO_LIMIT = 4096;

function pricedChoice(collective: ScheduledCollective, bytes: number, ranks: number, pricing: Pricing, only?: string): Choice | undefined {
  let best: Choice | undefined;
  for (const codec of pricing.offer?.codecs ?? [undefined]) {
    const found = pricedCandidates(collective, bytes, ranks, pricing, codec).find((c) => only === undefined || c.algorithm === only);
    if (found && (best === undefined || found.seconds < best.predicted!)) best = { algorithm: found.algorithm, predicted: found.seconds, ...(codec && { codec }) };
  }
  return best;
}

/** Every algorithm that may run the call with `codec` (none: the call's own), priced and sorted fastest first. */
function pricedCandidates(collective: ScheduledCollective, bytes: number, ranks: number, pricing: Omit<Pricing, 'offer'>, codec?: Codec): Candidate[] {
  const { config, params, call, memory } = pricing;
  const modelCall: ModelCall = { collective, bytes, ranks, chunkBytes: config.chunkBytes ?? 1 << 20, ...(config.pipelineDepth !== undefined && { pipelineDepth: config.pipelineDepth }), ...switchTermsOf(config, call?.dtype), ...(codec && { codec }), ...(memory && { memory }), ...(call?.outOfPlace === true && { outOfPlace: true }) };
  return candidates(modelCall, params, { aggregator: Boolean(config.switch), ...(call && { call }), ...(config.meshThresholdBytes !== undefined && { meshThresholdBytes: config.meshThresholdBytes }) });
}

/**
 * The algorithms 'auto' could run a call with (no codec offered), fastest first as the model
 * prices them with the agreed parameters (without a tuning file, the defaults): what tune()
 * times. Every rank lists the same.
 */
export function rankedAlgorithms(collective: ScheduledCollective, bytes: number, ranks: number, config: TuningConfig, call: Omit<ReductionCall, 'ranks'>, memory?: MemoryKind): Candidate[] {
  const params = config.tuning?.params ?? defaultCostParams(config.codecLoops);
  return pricedCandidates(collective, bytes, ranks, { config, params, call, memory });
}

/** The key of a call's shape in TuningConfig.measured: what the choice depends on besides the configuration. */
export function measuredKey(collective: ScheduledCollective, bytes: number, ranks: number, call: Pick<ReductionCall, 'dtype' | 'op'>, memory: MemoryKind = 'cpu'): string {
  const op = call.op === undefined ? '' : typeof call.op === 'object' ? 'premulSum' : call.op;
  return `${collective}/${bytes}/${ranks}/${call.dtype}/${op}/${memory}`;
}

/**
 * What the model's switch formula takes from the agreed configuration: the packet size ('auto'
 * before init agrees a number: the formula's default) and, for a call of a float `dtype` (or one
 * not named, as calibration's float32 runs), where its exponents are agreed; int32 calls agree
 * none and are priced as the link's.
 */
export function switchTermsOf(config: Pick<TuningConfig, 'switchPacketValues' | 'switchExponents'>, dtype?: DataType): Pick<ModelCall, 'switchPacketValues' | 'switchExponents'> {
  const float = dtype === undefined || isFloat(dtype);
  return {
    ...(typeof config.switchPacketValues === 'number' && { switchPacketValues: config.switchPacketValues }),
    ...(float && config.switchExponents !== undefined && { switchExponents: config.switchExponents }),
  };
}

function sizeBased(serving: readonly string[], bytes: number, ranks: number, config: TuningConfig, setting: string): string {
  const direct = config.directThresholdBytes > 0 && ranks > 1 && bytes * (ranks - 1) <= config.directThresholdBytes;
  if (serving.includes('direct') && setting === 'auto' && direct) return 'direct';
  if (serving.includes('tree') && bytes <= config.treeThresholdBytes) return 'tree';
  // From 3 ranks up (at 2 the ring is the same two hops), up to the transport's threshold.
  if (serving.includes('mesh') && setting === 'auto' && ranks > 2 && bytes <= (config.meshThresholdBytes ?? 0)) return 'mesh';
  return serving.includes('ring') ? 'ring' : serving[0]!;
}
