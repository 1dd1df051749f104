// The tuning a rank proposes at init: the cost parameters of its tuning file (the init option
// tuning, else tuningFile, else WEBCCL_TUNING_FILE), checked against the world it joined. Rank
// 0's proposal is the one every rank adopts (bootstrap.ts), parameters and file digest alike.
// A file that does not fit is a WARN and no tuning (the defaults), never an init failure: a
// stale file left behind must not stop a job.
import { adapterName } from '../gpu/device.js';
import type { Logger } from '../log.js';
import { readEnv } from '../settings.js';
import { readTuning, readTuningText, sha256, type TuningWorld } from '../tune/tuning-file.js';
import type { ScheduledCollective } from '../collectives/algorithms.js';
import { switchTermsOf, type Choice } from '../tune/select.js';
import type { AgreedConfig } from './config.js';
import type { Communicator } from './communicator.js';
import { calibrate, type CalibrationComm } from '../tune/calibrate.js';
import { linkFigures, slowLinkRatios, type ProbeComm } from '../tune/placement.js';
import type { AgreedTuning } from '../tune/select.js';
import { gpuCalibration } from './gpu-calibration.js';
import { collectiveCaller } from './collective-calibration.js';

/** What calibration runs on a communicator: its allreduces, and the board's other collectives where it has one. */
type CalibratedComm = Pick<Communicator, 'rank' | 'size' | 'config' | 'transport' | 'allReduce' | 'device' | 'reduceScatter' | 'allGather' | 'broadcast' | 'reduce' | 'send' | 'recv' | 'groupStart' | 'groupEnd' | 'placeTree'>;

export interface TuningOptions {
  /** A tuning file's path (default WEBCCL_TUNING_FILE); rank 0's holds for every rank. */
  readonly tuningFile?: string;
  /** A tuning file's content, instead of its path (browsers, or a file already read). */
  readonly tuning?: string;
}

/** The world a tuning file must have been measured on to apply here. */
export function tuningWorld(size: number, transportDescription: string, device: GPUDevice | undefined): TuningWorld {
  return { size, transport: transportDescription, device: device ? adapterName(device) : 'cpu' };
}

/** `proposal` with this rank's tuning added when its file fits `world`; a WARN on `log` when it does not. */
export async function proposeTuning(proposal: AgreedConfig, options: TuningOptions, world: TuningWorld, log: Logger): Promise<AgreedConfig> {
  const path = options.tuningFile ?? readEnv('WEBCCL_TUNING_FILE') ?? '';
  if (options.tuning === undefined && path === '') return proposal;
  const source = options.tuning !== undefined ? 'given as the init option tuning' : path;
  const read = options.tuning !== undefined ? { text: options.tuning } : readTuningText(path);
  const outcome = 'text' in read ? await readTuning(read.text, source, world) : read;
  if ('problem' in outcome) {
    log.warn(`${outcome.problem}; using the default algorithm choice`);
    return proposal;
  }
  if (outcome.stale !== undefined) log.warn(outcome.stale);
  log.info(`tuning file ${source} (sha-256 ${outcome.tuning.digest.slice(0, 16)}…): ${JSON.stringify(outcome.tuning.params)}`);
  return { ...proposal, tuning: outcome.tuning };
}

/** The key a model decision is logged once under: the collective, the size class (the power of two at or above the bytes) and the choice. */
export function choiceKey(collective: ScheduledCollective, bytes: number, choice: Choice): string {
  return `${collective}/${sizeClass(bytes)}/${choice.algorithm}/${choice.codec?.name ?? ''}`;
}

function sizeClass(bytes: number): number {
  return bytes <= 1 ? 0 : Math.ceil(Math.log2(bytes));
}

/** A model decision as logged at INFO. */
export function describeChoice(collective: ScheduledCollective, bytes: number, choice: Choice): string {
  const codec = choice.codec ? ` with codec ${choice.codec.name}` : '';
  return `${collective} of ${bytes} bytes (size class 2^${sizeClass(bytes)}): the cost model chose ${choice.algorithm}${codec}, predicted ${(choice.predicted! * 1e6).toFixed(1)} us`;
}

/** Element-wise maximum of every rank's `values` (the same on every rank): how calibration and tune() agree their figures. */
export async function maxAllOf(comm: Pick<Communicator, 'allReduce'>, values: Float32Array): Promise<Float32Array> {
  const out = new Float32Array(values.length);
  await comm.allReduce(values, out, values.length, 'float32', 'max');
  return out;
}

/** Calibration's view of a communicator: named-algorithm allreduces, max through allReduce, its switch, agreed board and device. */
export function calibrationComm(comm: CalibratedComm): CalibrationComm {
  const inproc = comm.transport.description === 'inproc';
  const maxAll = (values: Float32Array) => maxAllOf(comm, values);
  const collectiveCall = collectiveCaller(comm);
  const send = (peer: number, data: Float32Array) => comm.send(data, data.length, 'float32', peer);
  const recv = (peer: number, landing: Float32Array) => comm.recv(landing, landing.length, 'float32', peer);
  const probe: ProbeComm = {
    rank: comm.rank, size: comm.size, maxAll, send, recv,
    // The slow-rank probe's pair exchanges: a send and a receive in one group, both at once.
    exchange: (peer, data, landing) => {
      comm.groupStart();
      const both = [send(peer, data), recv(peer, landing)];
      return Promise.all([...both, comm.groupEnd()]).then(() => undefined);
    },
  };
  return {
    rank: comm.rank,
    size: comm.size,
    board: comm.config.board === true,
    // A board is one host's shared memory, every rank mapping it; inproc ranks share one process;
    // otherwise every rank named the same host at bootstrap (its network namespaces, if any, name
    // hosts of their own: bench/switch-rack.sh sets WEBCCL_HOST_ID).
    oneHost: comm.config.board === true || inproc || comm.config.oneHost === true,
    // inproc ranks share one event loop too: a call's time is all of their work in turn.
    oneThread: inproc,
    // The board's other collectives too, each for a fixed cost of its own (only where the agreed configuration has a board: alike on every rank).
    ...(comm.config.board === true && { boardCall: (collective, bytes) => collectiveCall(collective, bytes, 'board') }),
    // The halves of an allreduce on a schedule of messages (the ring), each for a fixed part of its own.
    halfCall: collectiveCall,
    chunkBytes: comm.config.chunkBytes,
    ...(comm.transport.referenceBytes !== undefined && { referenceBytes: comm.transport.referenceBytes }),
    ...(comm.config.meshThresholdBytes !== undefined && { meshThresholdBytes: comm.config.meshThresholdBytes }),
    pipelineDepth: comm.config.pipelineDepth,
    aggregator: Boolean(comm.config.switch),
    ...switchTermsOf(comm.config),
    ...(comm.device && { gpu: gpuCalibration(comm, comm.device) }),
    linkFigures: () => linkFigures(probe),
    slowLinkRatios: (slowRank) => slowLinkRatios(probe, slowRank),
    placeTree: (slowRank) => comm.placeTree(slowRank),
    allReduce: (data, algorithm, chunkBytes) => comm.allReduce(data, data, data.length, 'float32', 'sum', { algorithm, ...(chunkBytes !== undefined && { chunkBytes }) }),
    broadcast: (data, algorithm) => comm.broadcast(data, data, data.length, 'float32', 0, { algorithm }),
    maxAll,
    // What CpuMemory.copy does with an out-of-place host allreduce's buffers.
    copy: (target, source) => target.set(source),
  };
}

/**
 * The init option calibrate: every rank measures, all get the same parameters (the fit of the
 * largest figures over the ranks), and the digest is of those parameters, alike everywhere.
 */
export async function calibrateAtInit(comm: CalibratedComm, log: Logger): Promise<AgreedTuning> {
  const { params, seconds } = await calibrate(calibrationComm(comm));
  const tuning = { params, digest: await sha256(JSON.stringify(params)) };
  log.info(`calibrated at init in ${seconds.toFixed(2)} s: ${JSON.stringify(params)}`);
  return tuning;
}
