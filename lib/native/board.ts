// The shared-memory collective board of native/src/board.cc, as promises: a call that finishes
// on the JS thread (every call starts there: one whose peers come within the spin) resolves at
// once, any other completes through the board's thread. Errors: a peer that died is a RemoteError, ranks running
// different calls InvalidUsage, a peer that never came a Timeout.
import { createHash } from 'node:crypto';
import type { DataType, SimpleOp } from '../dtype.js';
import { mismatchError, remoteError, systemError, timeoutError, type WebcclError } from '../errors.js';
import { readEnv, readNumber } from '../settings.js';
import type { BoardCollective, BoardWork, NativeAddon, NativeBoard, SmallBoardCall } from './addon.js';
import { callNative } from './call.js';
import { shmPrefix } from './shm.js';
import { warmYoungGeneration } from './young-generation.js';

/**
 * How long each wait of the JS thread for its peers polls before it hands the call to the
 * board's thread (and the event loop; a large call also goes once it held the JS thread 2 ms),
 * yielding its core between polls, since ranks may outnumber the cores. A hand-over costs two wake-ups (the board thread's futex, then the event loop), and
 * the rank that handed over comes late to its next call, so that its peer's wait can run out
 * too. 200 µs against 10 µs, alternated on a quiet host: 8-byte allreduce at 2 ranks 5.1-9.6 µs
 * against 6.5-18.4 (200 ahead in 5 of 7 pairs, medians 6.4 and 8.6), at 4 ranks on 2 cores
 * 39.9 and 53.7 against 59.6 and 102.4; 1-16 MiB level within the noise (docs/PERFORMANCE.md,
 * "Re-run, end of the tenth session"; "lat10" has the loaded runs, where no setting was ahead).
 */
const SPIN_NS = 200_000;

/** WEBCCL_BOARD_SPIN_US overrides SPIN_NS (microseconds; 0: hand every call over at once). */
function spinNs(): number {
  const us = readNumber('WEBCCL_BOARD_SPIN_US', SPIN_NS / 1000, (value) => value >= 0 && value <= 1e6, 'a number of microseconds in 0 .. 1000000');
  return Math.round(us * 1000);
}

/**
 * Single copy on the board (native/src/board.cc, advance_single_copy): allgathers whose blocks,
 * and broadcasts whose data, hold WEBCCL_BOARD_SINGLE_COPY_BYTES=N bytes or more are read
 * straight from the peers' views with process_vm_readv (one copy) instead of through the shared
 * lanes (two), where every rank can and every rank set it (ranks take the largest threshold, and
 * one rank without it keeps every rank on the lanes). Off by default: on the 2-vCPU VM it was
 * measured on, the kernel's copy ran at 3.5-5 GB/s against 9-10 GB/s for two memcpys through a
 * lane, so it cost 1.2-3x the CPU per call (docs/PERFORMANCE.md, "cma10 (session 10)"); a host
 * where process_vm_readv copies at memcpy's speed (bare metal) may gain from it. 0 or `off`: the
 * lanes always.
 */
export function boardSingleCopyBytes(): number {
  if (readEnv('WEBCCL_BOARD_SINGLE_COPY_BYTES') === 'off') return 0;
  return readNumber('WEBCCL_BOARD_SINGLE_COPY_BYTES', 0, (bytes) => Number.isInteger(bytes) && bytes >= 0, 'a byte count or off');
}

/** The segment's name: the job's shm prefix (its secret's digest) and a digest of the communicator's key, in 55 characters. */
export function boardSegmentName(secret: string, key: string): string {
  return `/webccl-${shmPrefix(secret)}-board-${createHash('sha256').update(`webccl-board\0${key}`).digest('hex').slice(0, 16)}`;
}

/** native/src/board.cc's Kind, reduce.h's DType and Op, by name: run()'s code packs them as integers. */
const KIND_CODES: Readonly<Record<BoardCollective, number>> = { allReduce: 0, reduce: 1, reduceScatter: 2, allGather: 3, broadcast: 4 };
const DTYPE_CODES: Readonly<Partial<Record<DataType, number>>> = { float32: 0, float16: 1, bfloat16: 2, int32: 3, uint32: 4 };
// avg folds as a sum (the division comes once, after the fold: BoardWork.average).
const OP_CODES: Readonly<Record<SimpleOp, number>> = { sum: 0, avg: 0, prod: 1, min: 2, max: 3 };
/** Roots fit the code's bits above 9 with room (the board has at most 1024 ranks). */
const ROOT_LIMIT = 2 ** 20;

/** NativeBoard.run's `code` for `work`: kind | dtype << 3 | op << 6 | average << 8 | root << 9. */
export function runCode({ collective, dtype, op = 'sum', average = false, root = 0 }: BoardWork): number {
  const kind = Object.hasOwn(KIND_CODES, collective) ? KIND_CODES[collective] : undefined;
  if (kind === undefined) throw new Error(`board: kind ${collective} is not allReduce, reduce, reduceScatter, allGather or broadcast`);
  const type = Object.hasOwn(DTYPE_CODES, dtype) ? DTYPE_CODES[dtype] : undefined;
  if (type === undefined) throw new Error(`board: unknown dtype ${dtype} (expected float32, float16, bfloat16, int32 or uint32)`);
  const fold = Object.hasOwn(OP_CODES, op) ? OP_CODES[op] : undefined;
  if (fold === undefined) throw new Error(`board: unknown op ${op} (expected sum, prod, min, max or avg)`);
  if (!Number.isInteger(root) || root < 0 || root >= ROOT_LIMIT) throw new Error(`board: root ${root} is not a rank`);
  return kind + type * 8 + fold * 64 + (average ? 256 : 0) + root * 512;
}

type Pending = { resolve(): void; reject(error: WebcclError): void };

/** One communicator's board (lib/transport/board.ts's BoardSession). */
export class NativeBoardSession {
  private readonly native: NativeBoard;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  /** The last call's work and its runCode (codeOf). */
  private lastWork: BoardWork | undefined;
  private lastCode = 0;
  /** Calls bound so far (forCall): call i is the i-th, from 0. */
  private bound = 0;
  /** Calls 0 .. doneBefore - 1 are all done: call doneBefore may run. */
  private doneBefore = 0;
  /** Calls done while one bound before them is not (a group's call with nothing to run). */
  private readonly doneEarly = new Set<number>();
  /** Runs of calls waiting for every call bound before them to be done, by call. */
  private readonly waiting = new Map<number, () => void>();

  constructor(addon: NativeAddon, name: string, private readonly rank: number, size: number, bufferBytes: number, timeoutMs: number) {
    const Board = addon.Board;
    if (Board === undefined) throw systemError('board: the native addon was built without it (rebuild: npm run build:native)');
    this.native = callNative('board', () => new Board(name, rank, size, bufferBytes, timeoutMs, (id, error) => {
      const waiter = this.pending.get(id);
      if (!waiter) return;
      this.pending.delete(id);
      if (error === null) waiter.resolve();
      else waiter.reject(boardError(error, rank));
    }, boardSingleCopyBytes(), spinNs()));
    // The first small calls would otherwise take V8's page faults (young-generation.ts).
    warmYoungGeneration(readEnv('WEBCCL_WARM_HEAP') !== 'off');
  }

  /**
   * Calls use the board one at a time, in the order they were bound (a group's calls are bound
   * in call order on every rank, then run together): each runs once every call bound before it
   * is done, which its schedule says once it no longer needs the board (done), whatever
   * happened. A call with none before it pending (every call but a group's) runs at once, with
   * no promise in between (a turn of the microtask queue each).
   */
  forCall(stamp: number): { run(bytes: Uint8Array, work: BoardWork): Promise<void>; done(): void } {
    const call = this.bound++;
    let finished = false;
    return {
      run: (bytes, work) => {
        if (call === this.doneBefore) return this.run(bytes, work, stamp);
        return new Promise<void>((resolve) => this.waiting.set(call, resolve)).then(() => this.run(bytes, work, stamp));
      },
      done: () => {
        if (finished) return;
        finished = true;
        this.finish(call);
      },
    };
  }

  /** `call` is done: the first call not done yet, if now every call before it is, may run. */
  private finish(call: number): void {
    if (call !== this.doneBefore) {
      this.doneEarly.add(call);
      return;
    }
    this.doneBefore++;
    while (this.doneEarly.delete(this.doneBefore)) this.doneBefore++;
    const wake = this.waiting.get(this.doneBefore);
    if (wake === undefined) return;
    this.waiting.delete(this.doneBefore);
    wake();
  }

  private run(bytes: Uint8Array, work: BoardWork, stamp: number): Promise<void> {
    try {
      return this.start(bytes, work, stamp, work.output, work.input) ?? Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The short path: one native call that runs the whole exchange on this thread when the peers
   * come within the spin, bound and run at once where every call bound before it is done (else
   * undefined). Nothing is bound when it finishes at once or fails: no call can be bound in
   * between, so the counters stay as they were.
   */
  runNow(stamp: number, { bytes, input, work }: SmallBoardCall): true | Promise<void> | undefined {
    if (this.bound !== this.doneBefore) return undefined;
    const handed = this.start(bytes, work, stamp, undefined, input);
    if (handed === undefined) return true;
    const call = this.bound++;
    const finish = () => this.finish(call);
    handed.then(finish, finish);
    return handed;
  }

  /** Runs a call on the native board: undefined when done at once, else its completion; throws what failed at once. */
  private start(bytes: Uint8Array, work: BoardWork, stamp: number, output: Uint8Array | undefined, input: Uint8Array | undefined): Promise<void> | undefined {
    if (this.closed) throw systemError(`board of rank ${this.rank}: closed`);
    const id = this.nextId++;
    let done: boolean;
    try {
      done = this.native.run(id, bytes, this.codeOf(work), stamp, output, input);
    } catch (error) {
      throw boardError(error instanceof Error ? error.message : String(error), this.rank);
    }
    if (done) return undefined;
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  /**
   * runCode(work), packed again only for another work than the last call's: a repeated call's
   * plan (plan-memo.ts) hands the same work object every time, and packing it (three lookups,
   * its checks) was a measurable part of a small call's JavaScript (docs/PERFORMANCE.md, lat14).
   */
  private codeOf(work: BoardWork): number {
    if (work !== this.lastWork) {
      this.lastCode = runCode(work);
      this.lastWork = work;
    }
    return this.lastCode;
  }

  /** The single-copy threshold the ranks agreed on (NativeBoard.singleCopy): null while attaching. */
  singleCopy(): { fromBytes: number | null; off: string } | null {
    return this.closed ? null : this.native.singleCopy();
  }

  /** Why every arrival fences itself, "" where the sleepers fence instead (NativeBoard.arrivalFence): null while attaching. */
  arrivalFence(): string | null {
    return this.closed ? null : this.native.arrivalFence();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close();
    for (const waiter of this.pending.values()) waiter.reject(systemError(`board of rank ${this.rank}: closed during a call`));
    this.pending.clear();
  }
}

function boardError(message: string, rank: number): WebcclError {
  const text = `rank ${rank}: ${message}`;
  if (/\) died$/.test(message)) return remoteError(text);
  if (/mismatch/.test(message)) return mismatchError(text);
  if (/did not arrive|deadline/.test(message)) return timeoutError(text);
  return systemError(text);
}
