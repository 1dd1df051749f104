// The configuration every rank of a communicator must share (NCCL hung when ranks computed
// such things independently: nccl#1136). Rank 0 proposes it from its settings and options at
// init and sends it to every rank; split communicators inherit their parent's.
import { checkAlgorithmChoice } from '../collectives/algorithms.js';
import { DEFAULT_PIPELINE_DEPTH } from '../collectives/pipeline.js';
import type { SwitchExponents } from '../collectives/switch-allreduce.js';
import { checkCodecChoice, codecNamed, codecNames } from '../collectives/codecs.js';
import { cpuReducer } from '../cpu/cpu-reducer.js';
import { internalError } from '../errors.js';
import { readEnv, readSettings, type AlgorithmSetting } from '../settings.js';
import { parseSwitchAddresses } from '../switch/control-protocol.js';
import { sizeClassOfValues } from '../switch/packet-size.js';
import { DEFAULT_DIRECT_THRESHOLD_BYTES, DEFAULT_TREE_THRESHOLD_BYTES, type AgreedTuning, type TuningConfig } from '../tune/select.js';
import { checkCostParams } from '../tune/params.js';

const EXPONENT_MODES: readonly SwitchExponents[] = ['auto', 'link', 'stream'];

export interface AgreedConfig extends TuningConfig {
  /** Bytes per pipelined message. */
  readonly chunkBytes: number;
  /** Chunk pipelines in flight per call. */
  readonly pipelineDepth: number;
  /**
   * The default compression of allreduce calls that can use it (float32 sum and avg): a codec
   * of lib/collectives/codecs.ts (default 'none'). A call's own `compression` overrides it.
   */
  readonly codec: string;
  /**
   * The switch for the switch algorithm ('' when none): 'host:port' (UDP), its WebSocket door's
   * ws:// URL, or both joined by a comma; rank 0's, like the algorithm.
   */
  readonly switch: string;
  /**
   * Rank 0's random name for this world's job on the switch ('' without a switch); a split
   * child's job is this name and the child's channel, which every member derives alike.
   */
  readonly switchJob: string;
  /**
   * 'host' (absent: flat): the switch algorithm reduces the ranks of each host among themselves
   * first, and one rank per host talks to the switch (host-groups.ts). Rank 0's holds.
   */
  readonly switchHierarchy?: 'host';
  /**
   * Values a switch packet carries (32-4096, a power of two), present with a switch. Rank 0's
   * setting; its 'auto' (the default) becomes, at init, the smallest of the ranks' largest sizes
   * that cross their paths to the switch unfragmented (lib/switch/packet-size.ts, bootstrap.ts).
   */
  readonly switchPacketValues?: number | 'auto';
  /** With switchHierarchy 'host': each world rank's host number, from the bootstrap hellos. */
  readonly hosts?: readonly number[];
  /** Every rank calibrates the cost model right after init (present only when asked for). */
  readonly calibrate?: true;
  /**
   * Two levels of switches: each world rank's leaf number, from the leaves the bootstrap hellos
   * named (switch-leaves.ts); `switch` is then the root. Absent: every rank joins `switch`.
   */
  readonly leaves?: readonly number[];
  /** Every rank's transport has a collective board (lib/transport/board.ts), from the bootstrap hellos; absent: not every rank's. */
  readonly board?: true;
  /**
   * Every rank named the same host in its bootstrap hello (host-groups.ts): their links are
   * that host's memory and cores, which calibration times once, not rank by rank (inTurn), and
   * probes for no slow link. Absent: some rank named another host, or none.
   */
  readonly oneHost?: true;
}

export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
// Where the schedules run their pipelines (the cost model's formulas default to it too).
export { DEFAULT_PIPELINE_DEPTH } from '../collectives/pipeline.js';

export interface ConfigOptions {
  readonly algorithm?: AlgorithmSetting;
  readonly chunkBytes?: number;
  readonly treeThresholdBytes?: number;
  readonly directThresholdBytes?: number;
  /** TuningConfig.meshThresholdBytes (default WEBCCL_MESH_THRESHOLD_BYTES, else the transport's, else 0). */
  readonly meshThresholdBytes?: number;
  readonly pipelineDepth?: number;
  /**
   * The communicator's default compression for allreduce (float32 sum and avg calls): a codec
   * of lib/collectives/codecs.ts; rank 0's holds for every rank. Default WEBCCL_COMPRESSION, else 'none'.
   */
  readonly compression?: string;
  /** The same as `compression` (its earlier name). */
  readonly codec?: string;
  /**
   * A switch for the switch algorithm: 'host:port', 'ws://host:port' (its WebSocket door), or
   * both joined by a comma (default WEBCCL_SWITCH, else the switch the rendezvous server hosts,
   * `webccl serve --switch`); rank 0's holds for every rank.
   */
  readonly switch?: string;
  /** 'host' or 'flat' (default WEBCCL_SWITCH_HIERARCHY, else 'flat'): see AgreedConfig. */
  readonly switchHierarchy?: 'host' | 'flat';
  /** 'auto', 'link' or 'stream' (default WEBCCL_SWITCH_EXPONENTS, else 'auto'): see AgreedConfig. */
  readonly switchExponents?: SwitchExponents;
  /**
   * Values a switch packet carries: 'auto' (default WEBCCL_SWITCH_PACKET_VALUES, else 'auto':
   * the largest that fits every rank's path MTU to the switch, 4096 on loopback and through the
   * WebSocket door, 2048 at a 9000-byte MTU, 256 at 1500 or when unknown) or a power of two
   * from 32 to 4096 (SwitchML's are 64 and 256); rank 0's holds for every rank.
   */
  readonly switchPacketValues?: number | 'auto';
  /**
   * Calibrate the cost model at init (lib/tune/calibrate.ts: a few seconds of allreduces) and
   * use its parameters instead of a tuning file's. Default WEBCCL_CALIBRATE=1; rank 0's holds.
   */
  readonly calibrate?: boolean;
}

function integerEnv(name: string, least: number, what: string): number | undefined {
  const raw = readEnv(name);
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < least) throw new Error(`${name}=${raw} is not a ${what} integer`);
  return value;
}

const positiveIntegerEnv = (name: string) => integerEnv(name, 1, 'positive');
/** 0 is a meaningful threshold: it turns an algorithm off. */
const nonNegativeIntegerEnv = (name: string) => integerEnv(name, 0, 'non-negative');

/** WEBCCL_MESH_THRESHOLD_BYTES where set (a bad value throws, naming it), for tools that price without a transport (webccl-perf --explain). */
export const meshThresholdEnv = (): number | undefined => nonNegativeIntegerEnv('WEBCCL_MESH_THRESHOLD_BYTES');

/**
 * What this rank would propose: options, then WEBCCL_* settings, then defaults. `hostedSwitch`
 * is the switch the rendezvous server hosts ('' for none); undefined before the transport is
 * connected, when the check that algorithm 'switch' has an address waits for it.
 * `transportChunkBytes` is the transport's own default chunk size (Transport.chunkBytes), if any,
 * `transportMeshBytes` its mesh threshold (Transport.meshThresholdBytes).
 */
export function proposeConfig(options: ConfigOptions, hostedSwitch?: string, transportChunkBytes?: number, transportMeshBytes?: number): AgreedConfig {
  const algorithm = options.algorithm ?? readSettings().algorithm;
  if (options.algorithm === undefined) checkAlgorithmChoice(`WEBCCL_ALGO=${algorithm}`, algorithm);
  const explicit = options.compression ?? options.codec;
  const codec = explicit ?? readSettings().compression;
  checkCodecChoice(explicit === undefined ? `WEBCCL_COMPRESSION=${codec}` : 'Communicator.init', codec);
  const address = options.switch ?? (readEnv('WEBCCL_SWITCH') || (hostedSwitch ?? ''));
  return validateConfig({
    algorithm,
    chunkBytes: options.chunkBytes ?? chunkBytesSetting(transportChunkBytes),
    treeThresholdBytes: options.treeThresholdBytes ?? positiveIntegerEnv('WEBCCL_TREE_THRESHOLD_BYTES') ?? DEFAULT_TREE_THRESHOLD_BYTES,
    directThresholdBytes: options.directThresholdBytes ?? nonNegativeIntegerEnv('WEBCCL_DIRECT_THRESHOLD_BYTES') ?? DEFAULT_DIRECT_THRESHOLD_BYTES,
    meshThresholdBytes: options.meshThresholdBytes ?? meshThresholdEnv() ?? transportMeshBytes ?? 0,
    pipelineDepth: options.pipelineDepth ?? pipelineDepthSetting(),
    codec,
    ...switchFields(address, options.switchPacketValues),
    ...hierarchyField(options.switchHierarchy),
    ...exponentsField(options.switchExponents, address),
    ...((options.calibrate ?? readEnv('WEBCCL_CALIBRATE') === '1') && { calibrate: true }),
    ...(cpuReducer().codecLoops === 'native' && { codecLoops: 'native' }),
  }, hostedSwitch !== undefined);
}

/** The chunk size without an init option: WEBCCL_CHUNK_BYTES, else the transport's own, else the default. */
export function chunkBytesSetting(transportChunkBytes?: number): number {
  return positiveIntegerEnv('WEBCCL_CHUNK_BYTES') ?? transportChunkBytes ?? DEFAULT_CHUNK_BYTES;
}

/** The pipeline depth without an init option: WEBCCL_PIPELINE_DEPTH, else the default. */
export function pipelineDepthSetting(): number {
  return positiveIntegerEnv('WEBCCL_PIPELINE_DEPTH') ?? DEFAULT_PIPELINE_DEPTH;
}

function hierarchyField(given: string | undefined): Pick<AgreedConfig, 'switchHierarchy'> {
  const raw = given ?? (readEnv('WEBCCL_SWITCH_HIERARCHY') || 'flat');
  if (raw !== 'host' && raw !== 'flat') throw new Error(`${given === undefined ? `WEBCCL_SWITCH_HIERARCHY=${raw}` : `switchHierarchy '${String(raw)}'`} is not one of host, flat`);
  return raw === 'host' ? { switchHierarchy: 'host' } : {};
}

/** The mode, checked with or without a switch; in the configuration only with one. */
function exponentsField(given: string | undefined, address: string): Pick<AgreedConfig, 'switchExponents'> {
  const mode = switchExponentsSetting(given);
  return address === '' ? {} : { switchExponents: mode };
}

/** The switchExponents setting rank 0 would propose: `given` (an init option), else WEBCCL_SWITCH_EXPONENTS, else 'auto'; checked. */
export function switchExponentsSetting(given?: string): SwitchExponents {
  const raw = given ?? (readEnv('WEBCCL_SWITCH_EXPONENTS') || 'auto');
  if (!isExponentMode(raw)) throw new Error(`${given === undefined ? `WEBCCL_SWITCH_EXPONENTS=${raw}` : `switchExponents '${String(raw)}'`} is not one of ${EXPONENT_MODES.join(', ')}`);
  return raw;
}

function isExponentMode(mode: unknown): mode is SwitchExponents {
  return EXPONENT_MODES.includes(mode as SwitchExponents);
}

/** The switch packet's values: the option, else WEBCCL_SWITCH_PACKET_VALUES, else 'auto'; a plain Error names a bad one. */
export function switchPacketValuesSetting(given?: number | 'auto'): number | 'auto' {
  const env = readEnv('WEBCCL_SWITCH_PACKET_VALUES') || 'auto';
  const values = given ?? (env === 'auto' ? env : Number(env));
  if (!isPacketValues(values)) {
    throw new Error(`${given === undefined ? `WEBCCL_SWITCH_PACKET_VALUES=${env}` : `switchPacketValues ${String(given)}`} is not 'auto' or a power of two from 32 to 4096`);
  }
  return values;
}

function switchFields(address: string, packetValues: number | 'auto' | undefined): Pick<AgreedConfig, 'switch' | 'switchJob' | 'switchPacketValues'> {
  const values = switchPacketValuesSetting(packetValues);
  if (address === '') return { switch: '', switchJob: '' };
  const job = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
  return { switch: address, switchJob: `webccl-${job}`, switchPacketValues: values };
}

function isPacketValues(values: unknown): values is number | 'auto' {
  return values === 'auto' || (typeof values === 'number' && sizeClassOfValues(values) !== undefined);
}

/** Calibrated parameters as a peer sent them: checked like a file's (tune/params.ts). */
function checkTuning(tuning: unknown): AgreedTuning {
  const { params, digest } = (tuning ?? {}) as Partial<AgreedTuning>;
  if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest)) throw new Error('tuning digest is not 64 hex digits');
  return { params: checkCostParams(params), digest };
}

export function validateConfig(config: AgreedConfig, requireSwitch = true): AgreedConfig {
  const { algorithm, chunkBytes, treeThresholdBytes, directThresholdBytes, meshThresholdBytes = 0, pipelineDepth, codec, switch: address, switchJob, switchPacketValues, switchHierarchy, switchExponents, hosts, leaves, tuning, calibrate, board, oneHost, codecLoops } = config;
  if (calibrate !== undefined && calibrate !== true) throw new Error(`calibrate ${JSON.stringify(calibrate)} is not true or absent`);
  if (codecLoops !== undefined && codecLoops !== 'native') throw new Error(`codec loops ${JSON.stringify(codecLoops)} are not 'native' or absent`);
  if (board !== undefined && board !== true) throw new Error(`board ${JSON.stringify(board)} is not true or absent`);
  if (oneHost !== undefined && oneHost !== true) throw new Error(`oneHost ${JSON.stringify(oneHost)} is not true or absent`);
  checkAlgorithmChoice('configuration', algorithm);
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 16) throw new Error(`chunk size ${chunkBytes} is not an integer >= 16 bytes`);
  if (!Number.isSafeInteger(treeThresholdBytes) || treeThresholdBytes < 0) throw new Error(`tree threshold ${treeThresholdBytes} is not a non-negative integer`);
  if (!Number.isSafeInteger(directThresholdBytes) || directThresholdBytes < 0) throw new Error(`direct threshold ${directThresholdBytes} is not a non-negative integer`);
  if (!Number.isSafeInteger(meshThresholdBytes) || meshThresholdBytes < 0) throw new Error(`mesh threshold ${meshThresholdBytes} is not a non-negative integer`);
  if (!Number.isSafeInteger(pipelineDepth) || pipelineDepth < 1) throw new Error(`pipeline depth ${pipelineDepth} is not a positive integer`);
  if (typeof codec !== 'string' || !codecNamed(codec)) throw new Error(`codec '${String(codec)}' is not one of ${codecNames()}`);
  if (typeof address !== 'string' || typeof switchJob !== 'string') throw new Error('switch address and job must be strings');
  if (address !== '') {
    try {
      parseSwitchAddresses(address);
    } catch (error) {
      throw new Error(`switch address '${address}' is not host:port, a ws:// URL or both joined by a comma (${(error as Error).message})`);
    }
    if (!/^[\w./-]{1,200}$/.test(switchJob)) throw new Error(`switch job name '${switchJob}' is not 1-200 word characters, '.', '/' or '-'`);
    if (switchPacketValues !== undefined && !isPacketValues(switchPacketValues)) throw new Error(`switch packet values ${JSON.stringify(switchPacketValues)} are not 'auto' or a power of two from 32 to 4096`);
  }
  if (requireSwitch && algorithm === 'switch' && address === '') throw new Error(`algorithm 'switch' needs a switch address (init option switch: 'host:port' or 'ws://host:port', WEBCCL_SWITCH, or a rendezvous server that hosts one: webccl serve --switch)`);
  if (switchHierarchy !== undefined && switchHierarchy !== 'host') throw new Error(`switch hierarchy '${String(switchHierarchy)}' is not 'host' or absent`);
  if (address !== '' && !isExponentMode(switchExponents)) {
    throw new Error(switchExponents === undefined
      ? 'the configuration names no switch exponents mode (a rank of an older webccl, which left \'link\' implicit: every rank must run one version)'
      : `switch exponents '${String(switchExponents)}' is not one of ${EXPONENT_MODES.join(', ')}`);
  }
  const numbers = (list: unknown) => Array.isArray(list) && list.every((h) => Number.isSafeInteger(h) && h >= 0);
  if (hosts !== undefined && !numbers(hosts)) throw new Error('host numbers must be non-negative integers');
  if (leaves !== undefined && !numbers(leaves)) throw new Error('leaf switch numbers must be non-negative integers');
  const hierarchy = switchHierarchy === undefined ? {} : { switchHierarchy, ...(hosts === undefined ? {} : { hosts: [...hosts] }) };
  const twoLevels = leaves === undefined || address === '' ? {} : { leaves: [...leaves] };
  return {
    algorithm, chunkBytes, treeThresholdBytes, directThresholdBytes, ...(meshThresholdBytes > 0 && { meshThresholdBytes }), pipelineDepth, codec, switch: address, switchJob,
    ...(address !== '' && { switchPacketValues: switchPacketValues ?? 'auto' }), ...hierarchy, ...twoLevels, ...(address !== '' && { switchExponents: switchExponents! }),
    ...(tuning !== undefined && { tuning: checkTuning(tuning) }),
    ...(calibrate && { calibrate }),
    ...(board && { board }),
    ...(oneHost && { oneHost }),
    ...(codecLoops && { codecLoops }),
  };
}

export function encodeConfig(config: AgreedConfig): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(config));
}

export function decodeConfig(bytes: Uint8Array): AgreedConfig {
  try {
    return validateConfig(JSON.parse(new TextDecoder().decode(bytes)) as AgreedConfig);
  } catch (error) {
    throw internalError('the configuration rank 0 sent cannot be read', error);
  }
}
