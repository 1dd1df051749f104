// Each API call becomes a plan: its signature, the schedule (algorithm) it runs, and what it
// does with its buffers around that schedule (copy the input into place, premultiply, borrow
// scratch, copy a result out). Building a plan checks every argument, so a bad call is
// rejected before anything is sent; running it is left to the communicator.
import { algorithmNamed, reducesElsewhere, scheduleOf, type ReductionCall, type ScheduledCollective } from '../collectives/algorithms.js';
import { boardReduceScatterInto } from '../collectives/board-reducescatter.js';
import type { CollectiveContext, Region } from '../collectives/context.js';
import { elementBytes, opName, type DataType, type ReduceOp } from '../dtype.js';
import { invalidArgument, WebcclError } from '../errors.js';
import type { AlgorithmSetting } from '../settings.js';
import type { Signature } from '../transport/transport.js';
import { BOARD_BUFFER_BYTES, BOARD_SMALL_BYTES, type SmallBoardCall } from '../transport/board.js';
import { aggregateOp } from '../collectives/aggregator-allreduce.js';
import { chooseAlgorithm, type Choice, type CodecOffer } from '../tune/select.js';
import type { MemoryKind } from '../tune/params.js';
import { checkFits, locate, overlaps, sameStart, type Located } from '../memory/buffers.js';
import type { AgreedConfig } from './config.js';
import { checkCodecChoice, codecNamed, CODECS } from '../collectives/codecs.js';
import { COMPRESSIBLE, NO_CODEC, type Codec } from '../memory/codec.js';
import { checkFeedbackKey, type FeedbackKey } from './error-feedback.js';
import { integerAllReduce, type IntegerSteps } from './integer-allreduce.js';
import { switchBlockSize, switchFloatAllReduce, switchIntegerSteps } from './switch-float.js';
import type { CallMemory, MemorySpace } from '../memory/memory.js';
import { signature, type Schedule } from './signature.js';
import { checkAlgorithm, checkCount, checkDtype, checkOp, checkRank } from './validate.js';

/** What planning needs to know about the communicator. */
export interface PlanEnv {
  readonly rank: number;
  readonly size: number;
  /** e.g. `rank 1 of 4 (communicator 0)`, to start error messages. */
  readonly name: string;
  readonly config: AgreedConfig;
  /** The memory space that holds a located buffer (throws InvalidArgument if none can). */
  spaceOf(what: string, located: Located): MemorySpace;
  /** Throws InvalidArgument if the key's residual was made for another count, memory or codec. */
  checkFeedback(what: string, key: FeedbackKey, space: MemorySpace, count: number, codec: string): void;
  /** The most workers one switch of the job has when not one per rank (switchHierarchy 'host', two levels). */
  readonly switchWorkers?: number;
  /** The transport offers a shared-memory board (the board algorithm's refusal and 'auto' read it). */
  readonly board?: boolean;
  /** 'auto' passed over the switch for a call it does not support: `reason` says why (logged at INFO). */
  fellBack(what: string, reason: string, algorithm: string): void;
  /** The cost model chose for a call (logged at INFO once per collective, choice and size class). */
  modelChose?(collective: ScheduledCollective, bytes: number, choice: Choice): void;
  /** A call left to 'auto' (no codec offered) was planned: what Communicator.tune() may time (tuned-calls.ts). */
  planned?(collective: ScheduledCollective, count: number, call: Omit<ReductionCall, 'ranks'>, memory: MemoryKind | undefined): void;
}

export interface CallPlan {
  readonly signature: Signature;
  readonly schedule: Schedule;
  /** Point-to-point calls: the peer, and which way the data goes (they use their own sequence). */
  readonly p2p?: { readonly peer: number; readonly direction: 'send' | 'recv' };
  readonly space: MemorySpace;
  /** The caller's buffers, whose state (space.verify) is checked when the call's turn comes. */
  readonly buffers: readonly Located[];
  readonly dtype: DataType;
  readonly op: ReduceOp | undefined;
  /** How the call's payloads travel (allReduce only; none elsewhere, and in a world of one). */
  readonly codec?: Codec;
  /** Where an error-feedback codec keeps its residual between calls (undefined: this call only). */
  readonly feedback?: FeedbackKey;
  /**
   * A small host-memory allReduce on the board with nothing but the fold to do (identity codec,
   * a named op): what the communicator's short path hands the board (Communicator.runSmall), in
   * place of `run`. `run` stays the call's meaning (and its path in a group or behind a queue).
   */
  readonly smallBoard?: SmallBoardCall;
  /** The call's own chunk size (CallOptions.chunkBytes; undefined: the agreed one). */
  readonly chunkBytes?: number;
  run(ctx: CollectiveContext, memory: CallMemory): Promise<void>;
}

export interface CallOptions {
  /** Overrides the communicator's algorithm for this call; every rank must pass the same. */
  readonly algorithm?: AlgorithmSetting;
  /**
   * allReduce: how payloads travel (a codec of lib/collectives/codecs.ts: none, bf16, fp16, int8,
   * onebit, switchml), overriding the communicator's default; float32 sum and avg only. Every
   * rank must pass the same: it is part of the call's signature.
   */
  readonly compression?: string;
  /**
   * allReduce with compression 'auto': the error the caller accepts per element, relative to
   * the largest Σ_r |x_r| of the call (default 0: exact codecs only). The cost model picks the
   * fastest codec whose stated bound (the README's table) fits; every rank must pass the same.
   */
  readonly tolerance?: number;
  /**
   * allReduce with a codec that keeps error feedback (onebit): the key of the residual carried
   * from call to call (a string, or an object the caller holds). Without one, the call starts
   * from zeros and its residual is dropped. Codecs without error feedback ignore it.
   */
  readonly errorFeedback?: FeedbackKey;
  /**
   * allReduce: the chunk size (bytes) this call's schedule cuts with, in place of the agreed one;
   * every rank must pass the same. Calibration times the ring so to tell a message's fixed cost
   * from its bytes' (lib/tune/calibrate.ts, referenceProbe).
   */
  readonly chunkBytes?: number;
}

/**
 * The codec of an allReduce: the call's own `compression` (refused unless it can serve the
 * call), else the communicator's default where it can serve the call, else none.
 */
function codecFor(what: string, env: PlanEnv, dtype: DataType, op: ReduceOp, options: CallOptions | undefined, schedule: Schedule): Codec {
  // An aggregator takes the call's own elements (the switch quantizes with SwitchML itself), and so does the board.
  const row = algorithmNamed(schedule);
  const aggregated = reducesElsewhere(row);
  const serves = !aggregated && dtype === 'float32' && (op === 'sum' || op === 'avg');
  const chosen = options?.compression;
  // 'auto' is settled with the algorithm (codecOffer); a call it cannot serve travels as it is.
  if (chosen === AUTO_CODEC) return NO_CODEC;
  if (chosen === undefined) return serves ? codecNamed(env.config.codec) ?? NO_CODEC : NO_CODEC;
  if (aggregated && !codecNamed(chosen)?.identity) {
    const why = row?.board ? 'reduces the elements themselves in shared memory' : 'quantizes with SwitchML on its own';
    throw invalidArgument(`${what}: compression '${chosen}' does not apply to the ${String(schedule)} algorithm, which ${why}; use compression 'none' there`);
  }
  checkCodecChoice(what, chosen);
  const codec = codecNamed(chosen)!;
  if (!codec.identity && !serves) {
    throw invalidArgument(`${what}: compression '${chosen}' serves ${COMPRESSIBLE} only (this call is ${dtype} ${opName(op)}); use compression 'none' here`);
  }
  return codec;
}

/** compression: 'auto' lets the cost model choose among the codecs whose bound fits `tolerance`. */
const AUTO_CODEC = 'auto';

/** The codecs a compression 'auto' call offers the model (undefined when it named one, or cannot be compressed). */
function codecOffer(what: string, env: PlanEnv, dtype: DataType, op: ReduceOp, options?: CallOptions): CodecOffer | undefined {
  if (options?.compression !== AUTO_CODEC) return undefined;
  const tolerance = options.tolerance ?? 0;
  if (typeof tolerance !== 'number' || !(tolerance >= 0)) throw invalidArgument(`${what}: tolerance ${String(tolerance)} is not a number >= 0`);
  if (dtype !== 'float32' || (op !== 'sum' && op !== 'avg')) return undefined;
  return { codecs: CODECS.filter((codec) => codec.identity || (codec.relativeErrorBound !== undefined && codec.relativeErrorBound(env.size) <= tolerance)) };
}

/** A checked buffer argument: where it lives and its elements [first, first + count). */
interface Operand {
  readonly located: Located;
  readonly space: MemorySpace;
  region(first: number, count: number): Region;
}

function operand(env: PlanEnv, what: string, buffer: unknown, dtype: DataType, count: number): Operand {
  const located = locate(what, buffer, dtype);
  checkFits(what, located, dtype, 0, count);
  const space = env.spaceOf(what, located);
  space.check(what, located, dtype, count);
  return { located, space, region: (first, n) => space.region(located, dtype, first, n) };
}

function sameSpace(what: string, a: Operand, b: Operand): MemorySpace {
  if (a.space !== b.space) throw invalidArgument(`${what}: send and recv buffers must live in the same memory (both TypedArrays or both GPUBuffers of one device)`);
  return a.space;
}

/** Per-rank blocks start at multiples of the block count, which the memory must be able to address. */
function checkBlocks(what: string, space: MemorySpace, dtype: DataType, blockCount: number): void {
  const alignment = space.startAlignment(dtype);
  if (blockCount % alignment !== 0) {
    throw invalidArgument(`${what}: with ${dtype} in GPU buffers the per-rank count must be a multiple of ${alignment} (got ${blockCount})`);
  }
}

/** The located buffers of the operands a call was given (some are optional by rank). */
function buffersOf(...operands: (Operand | undefined)[]): Located[] {
  return operands.flatMap((o) => (o ? [o.located] : []));
}

/** The common head of every call: its name in messages and its count and dtype checked. */
function head(env: PlanEnv, call: string, count: unknown, dtype: unknown): string {
  const what = `${call} on ${env.name}`;
  checkCount(what, count);
  checkDtype(what, dtype);
  return what;
}

/**
 * Whether `count` elements of the input must first be copied into the output: not when the call
 * is in place (both are the same elements). They must live in one memory, and be the same
 * elements or share none (a partial overlap is ambiguous).
 */
function copyNeeded(what: string, send: Operand, recv: Operand, count: number, dtype: DataType): boolean {
  sameSpace(what, send, recv);
  if (sameStart(send.located, 0, recv.located, 0, dtype)) return false;
  if (overlaps(send.located, 0, count, recv.located, 0, count, dtype)) {
    throw invalidArgument(`${what}: send and recv buffers partially overlap`);
  }
  return true;
}

/** The agreed choice of algorithm for a call: the same on every rank (see lib/tune/select.ts). */
function algorithmFor(
  env: PlanEnv, what: string, collective: ScheduledCollective, count: number, dtype: DataType, options?: CallOptions, op?: ReduceOp, offer?: CodecOffer,
  memory?: MemoryKind, outOfPlace = false,
): Choice {
  checkAlgorithm(what, options?.algorithm);
  let choice;
  const bytes = count * elementBytes(dtype);
  // Every call says whether there is a board: it serves the reductions and allGather and broadcast alike.
  const call = { dtype, ...(op !== undefined && { op }), ...(env.switchWorkers === undefined ? {} : { aggregatorWorkers: env.switchWorkers }), ...(env.board && { board: true }), ...(outOfPlace && { outOfPlace }) };
  try {
    choice = chooseAlgorithm(collective, bytes, env.size, env.config, options?.algorithm, call, offer, memory);
  } catch (error) {
    // A named algorithm that cannot run this call: the call has no effect on any rank.
    if (error instanceof WebcclError && error.code === 'InvalidArgument') throw invalidArgument(`${what}: ${error.detail}`);
    throw error;
  }
  if (choice.fallback !== undefined) env.fellBack(what, choice.fallback, choice.algorithm);
  if (choice.predicted !== undefined) env.modelChose?.(collective, bytes, choice);
  if ((options?.algorithm ?? env.config.algorithm) === 'auto' && offer === undefined) env.planned?.(collective, count, call, memory);
  return choice;
}

export function planAllReduce(
  env: PlanEnv, send: unknown, recv: unknown, count: number, dtype: DataType, op: ReduceOp, options?: CallOptions,
): CallPlan {
  const what = head(env, 'allReduce', count, dtype);
  checkOp(what, op, dtype);
  const input = operand(env, `${what}: send buffer`, send, dtype, count);
  const output = operand(env, `${what}: recv buffer`, recv, dtype, count);
  const copyInput = copyNeeded(what, input, output, count, dtype);
  // GPU buffers are priced with the model's GPU terms (staging, submissions, the device's fold).
  const choice = algorithmFor(env, what, 'allReduce', count, dtype, options, op, codecOffer(what, env, dtype, op, options), output.located.kind, copyInput);
  const schedule = choice.algorithm;
  const algorithm = scheduleOf(schedule, 'allReduce');
  const scheduleReadsInput = algorithmNamed(schedule)?.readsInput === true;
  const codec = choice.codec ?? codecFor(what, env, dtype, op, options, schedule);
  checkFeedbackKey(what, options?.errorFeedback);
  const chunkBytes = options?.chunkBytes;
  if (chunkBytes !== undefined && !(Number.isSafeInteger(chunkBytes) && chunkBytes >= 16)) throw invalidArgument(`${what}: chunkBytes ${String(chunkBytes)} is not an integer >= 16 bytes`);
  const feedback = codec.errorFeedback ? options?.errorFeedback : undefined;
  if (feedback !== undefined) env.checkFeedback(what, feedback, output.space, count, codec.name);
  let regions: { readonly work: Region; readonly input: Region | undefined } | undefined;
  let switchSteps: IntegerSteps | undefined;
  const smallBoard = smallBoardCall(env, schedule, codec, op, copyInput ? input : undefined, output, count, dtype);
  return {
    signature: signature('allReduce', count, dtype, opName(op), -1, codec.code), schedule, space: output.space, buffers: buffersOf(input, output), dtype, op,
    // Nothing travels in a world of one (the result is exact); the integer scheme binds its own memories.
    codec: env.size > 1 && codec.format.kind !== 'integer' ? codec : NO_CODEC,
    ...(feedback !== undefined && { feedback }),
    ...(smallBoard !== undefined && { smallBoard }),
    ...(chunkBytes !== undefined && { chunkBytes }),
    async run(ctx, memory) {
      // Made at the first run and kept: a plan that is reused (plan-memo.ts) runs on the same buffers.
      regions ??= { work: output.region(0, count), input: copyInput ? input.region(0, count) : undefined };
      const { work } = regions;
      const { format } = codec;
      const integerCodec = format.kind === 'integer' && env.size > 1;
      const switchBlock = integerCodec ? undefined : switchBlockSize(schedule, dtype, ctx, env.config.switchExponents);
      // The switch's float path reads a sum or avg input where it is (nothing to premultiply).
      const readsInput = switchBlock !== undefined && typeof op === 'string';
      // A schedule that reads the send buffer where it is (AlgorithmRow.readsInput: the board)
      // takes it as lent bytes, with peers and a named op (premulSum scales a copy), no codec.
      const lentInput = regions.input !== undefined && scheduleReadsInput && typeof op === 'string' && !integerCodec && switchBlock === undefined && ctx.size > 1
        && memory.inPlace?.(regions.input, 0, count) !== undefined ? regions.input : undefined;
      if (regions.input && !readsInput && !lentInput) await memory.copy(work, 0, regions.input, 0, count);
      // Only premulSum scales its input (an await saved on every other call).
      if (typeof op !== 'string') await memory.premultiply(work, 0, count);
      if (integerCodec) await integerAllReduce(ctx, memory, output.space, { agree: algorithm, sum: algorithm }, work, format.blockSize);
      else if (switchBlock !== undefined) {
        // Made once per plan: the agreement's algorithm depends only on the call's shape and the agreed configuration.
        switchSteps ??= switchIntegerSteps(env.config, env.size, count, switchBlock);
        await switchFloatAllReduce(ctx, memory, output.space, switchSteps, work, dtype, switchBlock, readsInput ? regions.input : undefined);
      } else await algorithm(ctx, work, lentInput);
    },
  };
}

/**
 * The board's short path for an allReduce (CallPlan.smallBoard): the board schedule in a world of
 * two ranks or more, host memory, no codec (no residual either), a named op, and one arrival's
 * worth of elements (board.cc's one_arrival: (ranks - 1) x bytes within BOARD_SMALL_BYTES).
 */
function smallBoardCall(
  env: PlanEnv, schedule: Schedule, codec: Codec, op: ReduceOp, input: Operand | undefined, output: Operand, count: number, dtype: DataType,
): SmallBoardCall | undefined {
  const bytes = count * elementBytes(dtype);
  if (env.size < 2 || algorithmNamed(schedule)?.board !== true || !codec.identity || typeof op !== 'string' || count === 0) return undefined;
  if ((env.size - 1) * bytes > BOARD_SMALL_BYTES || bytes > BOARD_BUFFER_BYTES) return undefined;
  if (output.located.kind !== 'cpu' || (input !== undefined && input.located.kind !== 'cpu')) return undefined;
  return {
    bytes: output.located.bytes.subarray(0, bytes),
    input: input?.located.kind === 'cpu' ? input.located.bytes.subarray(0, bytes) : undefined,
    work: { collective: 'allReduce', dtype, op: aggregateOp(op), average: op === 'avg' },
  };
}

export function planBroadcast(
  env: PlanEnv, send: unknown, recv: unknown, count: number, dtype: DataType, root: number, options?: CallOptions,
): CallPlan {
  const what = head(env, 'broadcast', count, dtype);
  checkRank(what, 'root', root, env.size);
  const output = operand(env, `${what}: recv buffer`, recv, dtype, count);
  // Only the root reads a send buffer (as in NCCL); other ranks may pass anything.
  const input = env.rank === root ? operand(env, `${what}: send buffer`, send, dtype, count) : undefined;
  const copyInput = input !== undefined && copyNeeded(what, input, output, count, dtype);
  const schedule = algorithmFor(env, what, 'broadcast', count, dtype, options, undefined, undefined, output.located.kind).algorithm;
  const algorithm = scheduleOf(schedule, 'broadcast');
  return {
    signature: signature('broadcast', count, dtype, 'none', root), schedule, space: output.space, buffers: buffersOf(input, output), dtype, op: undefined,
    async run(ctx, memory) {
      const work = output.region(0, count);
      if (copyInput) await memory.copy(work, 0, input!.region(0, count), 0, count);
      await algorithm(ctx, work, root);
    },
  };
}

export function planReduce(
  env: PlanEnv, send: unknown, recv: unknown, count: number, dtype: DataType, op: ReduceOp, root: number, options?: CallOptions,
): CallPlan {
  const what = head(env, 'reduce', count, dtype);
  checkOp(what, op, dtype);
  checkRank(what, 'root', root, env.size);
  const input = operand(env, `${what}: send buffer`, send, dtype, count);
  // Only the root writes a result (as in NCCL); other ranks reduce in scratch memory (on the board: from send itself, below).
  const output = env.rank === root ? operand(env, `${what}: recv buffer`, recv, dtype, count) : undefined;
  const schedule = algorithmFor(env, what, 'reduce', count, dtype, options, op, undefined, input.located.kind).algorithm;
  const algorithm = scheduleOf(schedule, 'reduce');
  // The board only reads a non-root's host memory (board.cc: its slices go to its lane), so it
  // runs on the send buffer itself, which in a host buffer its peers then fold straight from;
  // not with premulSum, which scales the elements first.
  const readsInput = output === undefined && env.size > 1 && algorithmNamed(schedule)?.board === true && typeof op === 'string' && input.located.kind === 'cpu';
  const copyInput = !readsInput && (output === undefined || copyNeeded(what, input, output, count, dtype));
  return {
    signature: signature('reduce', count, dtype, opName(op), root), schedule, space: input.space, buffers: buffersOf(input, output), dtype, op,
    async run(ctx, memory) {
      const scratch = output || readsInput ? undefined : input.space.scratch(dtype, count);
      try {
        const work = output ? output.region(0, count) : readsInput ? input.region(0, count) : scratch!.region;
        if (copyInput) await memory.copy(work, 0, input.region(0, count), 0, count);
        await memory.premultiply(work, 0, count);
        await algorithm(ctx, work, root);
      } finally {
        scratch?.release();
      }
    },
  };
}

export function planAllGather(env: PlanEnv, send: unknown, recv: unknown, sendCount: number, dtype: DataType, options?: CallOptions): CallPlan {
  const what = head(env, 'allGather', sendCount, dtype);
  const total = sendCount * env.size;
  const input = operand(env, `${what}: send buffer`, send, dtype, sendCount);
  const output = operand(env, `${what}: recv buffer`, recv, dtype, total);
  const space = sameSpace(what, input, output);
  checkBlocks(what, space, dtype, sendCount);
  // In place when the send buffer is this rank's block of the recv buffer (NCCL's convention).
  const own = env.rank * sendCount;
  const copyInput = !sameStart(input.located, 0, output.located, own, dtype);
  const schedule = algorithmFor(env, what, 'allGather', sendCount, dtype, options, undefined, undefined, output.located.kind).algorithm;
  const algorithm = scheduleOf(schedule, 'allGather');
  return {
    signature: signature('allGather', sendCount, dtype), schedule, space, buffers: buffersOf(input, output), dtype, op: undefined,
    async run(ctx, memory) {
      const work = output.region(0, total);
      if (copyInput) await memory.copy(work, own, input.region(0, sendCount), 0, sendCount);
      await algorithm(ctx, work, sendCount);
    },
  };
}

export function planReduceScatter(env: PlanEnv, send: unknown, recv: unknown, recvCount: number, dtype: DataType, op: ReduceOp, options?: CallOptions): CallPlan {
  const what = head(env, 'reduceScatter', recvCount, dtype);
  checkOp(what, op, dtype);
  const total = recvCount * env.size;
  const input = operand(env, `${what}: send buffer`, send, dtype, total);
  const output = operand(env, `${what}: recv buffer`, recv, dtype, recvCount);
  const space = sameSpace(what, input, output);
  checkBlocks(what, space, dtype, recvCount);
  const own = env.rank * recvCount;
  const schedule = algorithmFor(env, what, 'reduceScatter', recvCount, dtype, options, op, undefined, output.located.kind).algorithm;
  const algorithm = scheduleOf(schedule, 'reduceScatter');
  // The board writes only block `rank` of what it is given: a call in place (recv is that block
  // of send) runs on the send buffer itself, and one out of place reads send and writes recv
  // (unless they overlap otherwise), unless premulSum must scale every block first.
  const board = schedule === 'board' && typeof op === 'string';
  const onSend = board && sameStart(input.located, own, output.located, 0, dtype);
  const into = board && !onSend && !overlaps(input.located, 0, total, output.located, 0, recvCount, dtype);
  return {
    signature: signature('reduceScatter', recvCount, dtype, opName(op)), schedule, space, buffers: buffersOf(input, output), dtype, op,
    async run(ctx, memory) {
      if (onSend) return algorithm(ctx, input.region(0, total), recvCount);
      if (into) return boardReduceScatterInto(ctx, input.region(0, total), output.region(0, recvCount));
      // Reduced in scratch: the send buffer stays as it was, and the result may overlap it.
      const scratch = space.scratch(dtype, total);
      try {
        await memory.copy(scratch.region, 0, input.region(0, total), 0, total);
        await memory.premultiply(scratch.region, 0, total);
        await algorithm(ctx, scratch.region, recvCount);
        await memory.copy(output.region(0, recvCount), 0, scratch.region, own, recvCount);
      } finally {
        scratch.release();
      }
    },
  };
}

export function planAllToAll(env: PlanEnv, send: unknown, recv: unknown, count: number, dtype: DataType): CallPlan {
  const what = head(env, 'allToAll', count, dtype);
  const total = count * env.size;
  const input = operand(env, `${what}: send buffer`, send, dtype, total);
  const output = operand(env, `${what}: recv buffer`, recv, dtype, total);
  const space = sameSpace(what, input, output);
  checkBlocks(what, space, dtype, count);
  const shared = overlaps(input.located, 0, total, output.located, 0, total, dtype);
  const own = env.rank * count;
  const schedule = algorithmFor(env, what, 'allToAll', count, dtype).algorithm;
  const algorithm = scheduleOf(schedule, 'allToAll');
  return {
    signature: signature('allToAll', count, dtype), schedule, space, buffers: buffersOf(input, output), dtype, op: undefined,
    async run(ctx, memory) {
      // Blocks still to be sent must not be overwritten by blocks received: work from a copy.
      const scratch = shared ? space.scratch(dtype, total) : undefined;
      try {
        const target = output.region(0, total);
        let source = input.region(0, total);
        if (scratch) {
          await memory.copy(scratch.region, 0, source, 0, total);
          source = scratch.region;
        }
        await memory.copy(target, own, source, own, count);
        await algorithm(ctx, source, target, count);
      } finally {
        scratch?.release();
      }
    },
  };
}

export function planSend(env: PlanEnv, buffer: unknown, count: number, dtype: DataType, peer: number): CallPlan {
  return planPointToPoint(env, 'send', buffer, count, dtype, peer);
}

export function planRecv(env: PlanEnv, buffer: unknown, count: number, dtype: DataType, peer: number): CallPlan {
  return planPointToPoint(env, 'recv', buffer, count, dtype, peer);
}

/** One end of a point-to-point transfer: `buffer` is sent from, or received into. */
function planPointToPoint(env: PlanEnv, direction: 'send' | 'recv', buffer: unknown, count: number, dtype: DataType, peer: number): CallPlan {
  const what = head(env, direction, count, dtype);
  checkRank(what, 'peer', peer, env.size, env.rank);
  const data = operand(env, `${what}: buffer`, buffer, dtype, count);
  const schedule = algorithmFor(env, what, direction, count, dtype).algorithm;
  const transfer = scheduleOf(schedule, direction);
  return {
    // Both ends of a transfer carry the sender's signature, so that they can be compared.
    signature: signature('send', count, dtype), schedule, p2p: { peer, direction }, space: data.space, buffers: buffersOf(data), dtype, op: undefined,
    run: (ctx) => transfer(ctx, data.region(0, count), peer),
  };
}

export function planBarrier(env: PlanEnv, space: MemorySpace): CallPlan {
  const schedule = algorithmFor(env, `barrier on ${env.name}`, 'barrier', 0, 'uint32').algorithm;
  return {
    signature: signature('barrier', 0), schedule, space, buffers: [], dtype: 'uint32', op: undefined,
    run: (ctx) => scheduleOf(schedule, 'barrier')(ctx),
  };
}
