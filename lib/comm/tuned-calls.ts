// Communicator.tune(): the call shapes this communicator has run under 'auto' (allreduce,
// reduce-scatter, all-gather, broadcast, reduce: the collectives with more than one schedule),
// timed with the cost model's nearest candidates on the world itself (lib/tune/measure-choices.ts),
// the fastest kept in the agreed configuration (TuningConfig.measured) for the calls that follow.
//
// The shapes are noted as calls are planned (the first call of a shape always is), in call
// order, so ranks that made the same calls hold the same list; tune() checks that they do
// before it sends anything of its own, since ranks timing different shapes would mismatch.
import { elementBytes, type ElementArray, type SimpleOp } from '../dtype.js';
import type { ReductionCall, ScheduledCollective } from '../collectives/algorithms.js';
import { internalError, invalidArgument, invalidUsage } from '../errors.js';
import { hostArrayOf } from '../memory/buffers.js';
import { requiredUsage } from '../gpu/gpu-memory.js';
import { measureChoices, nearestCandidates, type MeasureOptions } from '../tune/measure-choices.js';
import type { MemoryKind } from '../tune/params.js';
import { chooseAlgorithm, measuredKey, rankedAlgorithms } from '../tune/select.js';
import type { AgreedConfig } from './config.js';
import type { Communicator } from './communicator.js';
import { maxAllOf } from './tuning.js';

/**
 * The collectives tune() times: those that 'auto' chooses a schedule for among several (the
 * others have one: pairwise all-to-all, point-to-point, the dissemination barrier).
 */
export const TUNED_COLLECTIVES = ['allReduce', 'reduceScatter', 'allGather', 'broadcast', 'reduce'] as const;
export type TunedCollective = typeof TUNED_COLLECTIVES[number];

export function isTunedCollective(collective: ScheduledCollective): collective is TunedCollective {
  return (TUNED_COLLECTIVES as readonly string[]).includes(collective);
}

/** A call shape 'auto' ran: what tune() times (a named op or none: premulSum's scalar is the call's own). */
export interface AutoShape {
  readonly collective: TunedCollective;
  /** The call's count (per rank for reduceScatter's output and allGather's input, as the call states it). */
  readonly count: number;
  /** The call as its plan described it to the choice (dtype, op where it reduces, the board, the switch's width). */
  readonly call: Omit<ReductionCall, 'ranks' | 'op'> & { readonly op?: SimpleOp };
  readonly memory: MemoryKind;
}

/** The most shapes noted: a program of many sizes gets its first ones timed, not an unbounded list. */
export const MAX_AUTO_SHAPES = 64;

/** The shapes planned under 'auto', in call order, each once. */
export class AutoShapes {
  private readonly shapes = new Map<string, AutoShape>();
  private paused = 0;

  /** Notes `shape` under `key` (measuredKey) unless noted already, the list is full, or tune() is running its own calls. */
  note(key: string, shape: AutoShape): void {
    if (this.wants(key)) this.shapes.set(key, shape);
  }

  /** Whether note(key) would note anything: the caller builds the shape only then (every call under 'auto' asks). */
  wants(key: string): boolean {
    return this.paused === 0 && this.shapes.size < MAX_AUTO_SHAPES && !this.shapes.has(key);
  }

  entries(): Array<[string, AutoShape]> {
    return [...this.shapes];
  }

  /** Runs `work` without noting the calls it makes. */
  async unnoted<T>(work: () => Promise<T>): Promise<T> {
    this.paused++;
    try {
      return await work();
    } finally {
      this.paused--;
    }
  }
}

export interface TuneOptions extends MeasureOptions {
  /** Time the candidates the model prices within this factor of its fastest (default 2.5: its worst errors measured were about 2x). */
  readonly margin?: number;
  /**
   * At most this many candidates a shape (default 4: on 4 ntcp processes at 256 KiB the model
   * ranked the tree, 1.14-1.22x faster than its mesh, fourth; docs/PERFORMANCE.md, versus31).
   */
  readonly candidates?: number;
  /** Time again the shapes an earlier tune() chose for (default: only the new ones). */
  readonly again?: boolean;
}

export const DEFAULT_TUNE_MARGIN = 2.5;
export const DEFAULT_TUNE_CANDIDATES = 4;

/** One shape's outcome, as tune() returns and logs it. */
export interface TunedCall extends AutoShape {
  /** count × the dtype's size, as measuredKey and the model state the call. */
  readonly bytes: number;
  /** What 'auto' runs the shape with from now on. */
  readonly algorithm: string;
  /** What 'auto' ran the shape with before (the model's pick, or without a tuning file the size thresholds'). */
  readonly previous: string;
  /** Each candidate's median seconds a call, the largest over the ranks. */
  readonly seconds: ReadonlyArray<{ readonly algorithm: string; readonly seconds: number }>;
}

type TunedComm = Pick<Communicator, 'name' | 'size' | 'config' | 'device' | TunedCollective>;

/**
 * Times the candidates of `shapes` not chosen for yet (all of them with `again`) and returns the
 * outcomes and the configuration that holds them. Every rank must call it at the same point.
 */
export async function tuneCalls(comm: TunedComm, shapes: AutoShapes, options: TuneOptions = {}): Promise<{ tuned: TunedCall[]; config: AgreedConfig }> {
  checkTuneOptions(comm, options);
  const config = comm.config;
  const pending = shapes.entries().filter(([key]) => options.again === true || config.measured?.[key] === undefined);
  return shapes.unnoted(async () => {
    await checkSameCalls(comm, pending.map(([key]) => key), options);
    const margin = options.margin ?? DEFAULT_TUNE_MARGIN;
    const most = options.candidates ?? DEFAULT_TUNE_CANDIDATES;
    const tuned: TunedCall[] = [];
    for (const [, shape] of pending) {
      const { collective } = shape;
      const bytes = shape.count * elementBytes(shape.call.dtype);
      const ranked = rankedAlgorithms(collective, bytes, comm.size, meshAnySize(config, comm.size), shape.call, shape.memory);
      const previous = chooseAlgorithm(collective, bytes, comm.size, config, undefined, shape.call, undefined, shape.memory).algorithm;
      const candidates = nearestCandidates(ranked, margin, most, previous);
      const buffers = buffersFor(comm, shape);
      try {
        const [choice] = await measureChoices({
          run: (s, algorithm) => runShape(comm, s, buffers, algorithm),
          maxAll: (values) => maxAllOf(comm, values),
          now: () => performance.now(),
        }, [{ shape, candidates, ...(ranked[0] && { predictedSeconds: ranked[0].seconds }) }], options);
        if (choice) tuned.push({ ...shape, bytes, algorithm: choice.algorithm, previous, seconds: choice.seconds });
      } finally {
        for (const buffer of new Set([buffers.send, buffers.recv])) if (!ArrayBuffer.isView(buffer)) buffer.destroy();
      }
    }
    const measured = { ...config.measured };
    for (const outcome of tuned) measured[measuredKey(outcome.collective, outcome.bytes, comm.size, outcome.call, outcome.memory)] = outcome.algorithm;
    return { tuned, config: { ...config, measured } };
  });
}

/**
 * The mesh at every size from 3 ranks (at 2 it is the ring's two hops): its threshold keeps the
 * model, whose calibration times only its few-byte calls (meshFewSamples), from pricing it past
 * the sizes measured; here it
 * is timed (ntcp, 4 ranks on one host: 1.3x faster than the tree at 2–8 MiB, past the 1 MiB
 * threshold; docs/PERFORMANCE.md, tune30).
 */
function meshAnySize(config: AgreedConfig, ranks: number): AgreedConfig {
  return ranks > 2 ? { ...config, meshThresholdBytes: Number.MAX_SAFE_INTEGER } : config;
}

type TuneBuffer = ElementArray | GPUBuffer;

/**
 * Zeroed buffers for the shape's calls (zeros stay zeros under every op: no overflow, the same
 * values every call): one, used in place, where the call's input and output are alike in size;
 * reduceScatter's and allGather's whole buffer and rank's piece apart.
 */
function buffersFor(comm: TunedComm, shape: AutoShape): { readonly send: TuneBuffer; readonly recv: TuneBuffer } {
  const whole = bufferFor(comm, shape, shape.count * (shape.collective === 'reduceScatter' || shape.collective === 'allGather' ? comm.size : 1));
  if (shape.collective === 'reduceScatter') return { send: whole, recv: bufferFor(comm, shape, shape.count) };
  if (shape.collective === 'allGather') return { send: bufferFor(comm, shape, shape.count), recv: whole };
  return { send: whole, recv: whole };
}

function bufferFor(comm: TunedComm, shape: AutoShape, count: number): TuneBuffer {
  if (shape.memory === 'cpu') return hostArrayOf(shape.call.dtype, count);
  if (!comm.device) throw invalidUsage(`${comm.name}: tune(): a GPU-memory shape was noted but the communicator has no device`);
  return comm.device.createBuffer({ size: Math.max(4, Math.ceil((count * elementBytes(shape.call.dtype)) / 4) * 4), usage: requiredUsage() });
}

/** One call of `shape` with `algorithm`; the rooted ones rooted at rank 0 (the choice is the same for every root: measuredKey has none). */
function runShape(comm: TunedComm, shape: AutoShape, buffers: { readonly send: TuneBuffer; readonly recv: TuneBuffer }, algorithm: string): Promise<void> {
  const { count, call: { dtype, op } } = shape;
  const { send, recv } = buffers;
  const options = { algorithm };
  const reduction = (): SimpleOp => {
    if (op === undefined) throw internalError(`${comm.name}: tune(): a ${shape.collective} shape was noted without its op`);
    return op;
  };
  switch (shape.collective) {
    case 'allReduce': return comm.allReduce(send, recv, count, dtype, reduction(), options);
    case 'reduceScatter': return comm.reduceScatter(send, recv, count, dtype, reduction(), options);
    case 'allGather': return comm.allGather(send, recv, count, dtype, options);
    case 'broadcast': return comm.broadcast(send, recv, count, dtype, 0, options);
    case 'reduce': return comm.reduce(send, recv, count, dtype, reduction(), 0, options);
  }
}

/** Options that set how many calls are made must be whole numbers in range (each rank's own, so they are compared too: checkSameCalls). */
function checkTuneOptions(comm: TunedComm, options: TuneOptions): void {
  const check = (name: keyof TuneOptions, ok: (value: number) => boolean, what: string) => {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'number' || !ok(value))) throw invalidArgument(`${comm.name}: tune(): ${name} ${String(value)} is not ${what}`);
  };
  check('rounds', (v) => Number.isSafeInteger(v) && v >= 1, 'an integer >= 1');
  check('warmCalls', (v) => Number.isSafeInteger(v) && v >= 0, 'an integer >= 0');
  check('candidates', (v) => Number.isSafeInteger(v) && v >= 2, 'an integer >= 2');
  check('margin', (v) => Number.isFinite(v) && v >= 1, 'a number >= 1');
  check('blockSeconds', (v) => Number.isFinite(v) && v >= 0, 'a number >= 0');
}

/**
 * Every rank's list of keys and its options must be the same: a digest of them (and the list's
 * length) is compared as the largest and the least over the ranks, in one allreduce. Every rank
 * sees the same figures, so a difference fails tune() on every rank alike, before any timed call.
 */
async function checkSameCalls(comm: TunedComm, keys: readonly string[], options: TuneOptions): Promise<void> {
  const { again, candidates, margin, rounds, warmCalls, blockSeconds } = options;
  const digest = digestOf(`${keys.join('\n')}\n${JSON.stringify([again === true, candidates, margin, rounds, warmCalls, blockSeconds])}`);
  const figures = Int32Array.of(digest, -digest, keys.length, -keys.length);
  const out = new Int32Array(4);
  await comm.allReduce(figures, out, 4, 'int32', 'max');
  if (out[0] !== -out[1]! || out[2] !== -out[3]!) {
    throw invalidUsage(`${comm.name}: tune(): the ranks have run different call shapes under 'auto' since the last tune() (${keys.length} here), or passed different options; every rank must make the same calls before it and pass the same options`);
  }
}

/** FNV-1a of the text's UTF-16 units, in 30 bits (so that its negation is an int32 too). */
function digestOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return hash & 0x3fffffff;
}
