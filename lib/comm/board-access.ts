// A communicator's use of its transport's shared-memory board (lib/transport/board.ts): opened
// at the first call of the board algorithm, bound per call with the call's stamp (what every
// rank compares on the board in place of message headers), closed when the communicator fails
// or is destroyed (a call in flight then rejects).
import type { DataType, ReduceOp } from '../dtype.js';
import { internalError } from '../errors.js';
import type { BoardBinding, BoardCall, BoardHost, BoardSession, SmallBoardCall } from '../transport/board.js';
import type { Signature } from '../transport/transport.js';
import { formatSignature } from './signature.js';

export class BoardAccess {
  private session: BoardSession | undefined;
  private closed = false;
  /** Signatures' hashes (callStamp): a reused plan (plan-memo.ts) keeps its signature object, and hashing its text cost more than the native run of a small call. */
  private readonly hashes = new WeakMap<Signature, number>();
  /** The last short-path call's signature and its hash (runNow). */
  private lastSignature: Signature | undefined;
  private lastHash = 0;

  /** `members`: the communicator's ranks on the transport; `channel`: its collective channel. */
  constructor(private readonly host: BoardHost | undefined, private readonly place: { readonly members: readonly number[]; readonly channel: number; readonly rank: number; readonly timeoutMs: number }) {}

  forCall(signature: Signature, seq: number, dtype: DataType, op: ReduceOp | undefined): BoardBinding {
    if (this.host === undefined) throw internalError('the board algorithm ran on a transport without a board');
    // A world of one shares nothing: its schedule only finalizes.
    if (this.place.members.length === 1) return { board: ALONE, dtype, op };
    return { board: this.open().forCall(callStamp(signature, seq, this.hashes)), dtype, op };
  }

  /**
   * A small allreduce's short path (BoardSession.runNow), for a communicator of two ranks or
   * more: true when done at once, else its completion; undefined where the board cannot run it at once (a call bound before it is pending,
   * or a board without the short path): bind it with forCall.
   */
  runNow(signature: Signature, seq: number, call: SmallBoardCall): true | Promise<void> | undefined {
    // A repeated call's plan keeps its signature object: its hash from the last call, no WeakMap lookup.
    if (signature !== this.lastSignature) {
      this.lastHash = hashOf(signature, this.hashes);
      this.lastSignature = signature;
    }
    return this.open().runNow?.(stampOf(this.lastHash, seq), call);
  }

  /** The communicator's board session, opened at its first call (a closed access closes it at once). */
  private open(): BoardSession {
    if (this.host === undefined) throw internalError('the board algorithm ran on a transport without a board');
    const { members, channel, rank, timeoutMs } = this.place;
    // Split children of one split may share a channel number: their members tell them apart.
    this.session ??= this.host.open(`${channel}/${members.join(',')}`, rank, members.length, timeoutMs);
    if (this.closed) this.session.close();
    return this.session;
  }

  close(): void {
    this.closed = true;
    this.session?.close();
  }
}

const ALONE: BoardCall = {
  run: () => Promise.reject(internalError('the board of a communicator of one rank was asked to run a collective')),
  done: () => undefined,
};

/**
 * A number below 2^52 every rank derives alike from a call: its signature's hash and its
 * sequence number. `hashes` keeps the hash of each signature object (signatures are immutable).
 */
export function callStamp(signature: Signature, seq: number, hashes?: WeakMap<Signature, number>): number {
  return stampOf(hashOf(signature, hashes), seq);
}

/** The signature's hash, kept in `hashes` where given. */
function hashOf(signature: Signature, hashes: WeakMap<Signature, number> | undefined): number {
  let hash = hashes?.get(signature);
  if (hash === undefined) {
    hash = signatureHash(signature);
    hashes?.set(signature, hash);
  }
  return hash;
}

/** A call's stamp from its signature's hash and its sequence number. */
function stampOf(hash: number, seq: number): number {
  return hash * 2 ** 20 + (seq % 2 ** 20);
}

/** FNV-1a of the signature's text. */
function signatureHash(signature: Signature): number {
  let hash = 0x811c9dc5;
  for (const char of `${signature.kind} ${formatSignature(signature)} ${signature.codec ?? 0}`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return hash;
}
