// The shm provider of the RDMA-semantics API (native/src/shm.cc), for ranks on one host, as
// promises: every post returns the promise of its completion (receives complete on the JS
// thread, woken by an eventfd its event loop polls; sends through a threadsafe function from
// the progress thread; nothing polls); sendNow is the small send that completes at the call. Vocabulary of ibverbs:
// registerMemory ~ ibv_reg_mr (the key is lkey and rkey at once), an endpoint ~ an RC queue
// pair formed from exchanged address blobs, send/recv ~ IBV_WR_SEND / ibv_post_recv, write ~
// IBV_WR_RDMA_WRITE(_WITH_IMM); a write with an immediate consumes a posted receive at the target.
// Bad arguments throw InvalidArgument at the call (nothing was posted); a peer that dies or
// closes turns every pending operation into a RemoteError.
// Two providers share this surface: 'shm' (native/src/shm.cc, ranks on one host) and 'tcp'
// (native/src/tcp.cc, native sockets on a native I/O thread, ranks anywhere); the caller picks.
import { createHash } from 'node:crypto';
import { invalidArgument, remoteError, systemError, type WebcclError } from '../errors.js';
import type { NativeAddon, NativeShmContext, NativeShmEndpoint } from './addon.js';
import { asNativeError, callNative } from './call.js';
import { PostedRequests } from './posted-requests.js';

export interface ShmCompletion {
  readonly opcode: 'send' | 'recv' | 'write' | 'write-imm';
  /** Bytes sent, received or written. */
  readonly bytes: number;
  /** The immediate of a write-with-immediate (on the target's receive completion). */
  readonly imm?: number;
}

type Pending = { resolve(completion: ShmCompletion): void; reject(error: WebcclError): void };

/** Shared-memory names of a job: a digest of its secret, so only holders of the secret find them. */
export function shmPrefix(secret: string): string {
  return createHash('sha256').update(`webccl-shm\0${secret}`).digest('hex').slice(0, 24);
}

/** The tcp provider's hello carries this digest of the secret (never the secret itself). */
export function tcpDigest(secret: string): string {
  return createHash('sha256').update(`webccl-native-tcp\0${secret}`).digest('hex').slice(0, 48);
}

/** Which provider a context drives: shared memory, or native TCP listening on `host` (IPv4). */
export type NativeProvider = { readonly kind: 'shm' } | { readonly kind: 'tcp'; readonly host?: string };

/** Errors of the providers that mean the peer went away (a RemoteError above). */
const PEER_GONE = /peer (process \d+|[\d.]+:\d+) (died|closed)/;

export class ShmContext {
  private readonly native: NativeShmContext;
  /** Posts waiting for their completions (not a Map: see posted-requests.ts). */
  private readonly pending = new PostedRequests<Pending>();
  private wasDestroyed = false;

  /** A context for this process; `secret` is the job's (WEBCCL_SECRET or the rendezvous id's). */
  constructor(addon: NativeAddon, secret: string, readonly provider: NativeProvider = { kind: 'shm' }) {
    if (typeof secret !== 'string' || secret.length < 16) throw invalidArgument(`${provider.kind}: the job secret must be a string of 16 or more characters`);
    const onCompletion = (wrId: number, error: string | null, opcode: string, bytes: number, imm: number | undefined): void => {
      const waiter = this.pending.take(wrId);
      if (!waiter) return;
      if (error === null) waiter.resolve({ opcode: opcode as ShmCompletion['opcode'], bytes, ...(imm === undefined ? {} : { imm }) });
      else waiter.reject(PEER_GONE.test(error) ? remoteError(`${provider.kind} ${opcode}: ${error}`) : systemError(`${provider.kind} ${opcode}: ${error}`));
    };
    this.native = callNative(`${provider.kind} context`, () => provider.kind === 'tcp'
      ? new addon.TcpContext(tcpDigest(secret), onCompletion, provider.host)
      : new addon.ShmContext(shmPrefix(secret), onCompletion));
  }

  /** Registers memory that peers may write into and posts may read from; returns its key. */
  registerMemory(memory: ArrayBufferView | ArrayBuffer | SharedArrayBuffer): number {
    const view = ArrayBuffer.isView(memory) ? memory : memory instanceof ArrayBuffer || memory instanceof SharedArrayBuffer ? new Uint8Array(memory) : memory;
    return callNative(`${this.provider.kind} registerMemory`, () => this.native.registerMemory(view as ArrayBufferView));
  }

  deregisterMemory(key: number): void {
    callNative(`${this.provider.kind} deregisterMemory`, () => this.native.deregisterMemory(key));
  }

  /** An endpoint toward one peer; `label` names its segment and must be unique in the job (e.g. "0-1"). */
  createEndpoint(label: string): ShmEndpoint {
    return new ShmEndpoint(callNative(`${this.provider.kind} createEndpoint`, () => this.native.createEndpoint(label)), this);
  }

  /** True after destroy(): every region went with the context, none is left to deregister. */
  get destroyed(): boolean {
    return this.wasDestroyed;
  }

  /** Stops every endpoint (their pending operations reject), unmaps and unlinks segments. */
  destroy(): void {
    this.wasDestroyed = true;
    this.native.destroy();
  }

  /** Where `view` lies in this process, for a peer's ShmEndpoint.read (shm provider only). */
  addressOf(view: ArrayBufferView): number {
    const native = this.native;
    if (!native.addressOf) throw invalidArgument(`${this.provider.kind}: addressOf needs the shm provider`);
    return callNative(`${this.provider.kind} addressOf`, () => native.addressOf!(view));
  }

  /** @internal Posts through `post` and returns the promise of its completion. */
  track(what: string, post: (wrId: number) => void): Promise<ShmCompletion> {
    let waiter!: Pending;
    const completion = new Promise<ShmCompletion>((resolve, reject) => { waiter = { resolve, reject }; });
    this.trackWith(what, post, waiter); // a bad post throws here, at the call
    return completion;
  }

  /** @internal Posts through `post` (throwing what it throws) and hands its completion to `waiter`. */
  trackWith(what: string, post: (wrId: number) => void, waiter: Pending): void {
    const wrId = this.pending.add(waiter);
    try {
      callNative(what, () => post(wrId));
    } catch (error) {
      this.pending.take(wrId); // nothing was posted
      throw error;
    }
  }
}

export class ShmEndpoint {
  constructor(private readonly native: NativeShmEndpoint, private readonly context: ShmContext) {}

  /** The blob the peer passes to connect() (exchanged through the rendezvous). */
  address(): string {
    return callNative(`${this.context.provider.kind} address`, () => this.native.address());
  }

  /** timeoutMs bounds the tcp provider's dial or accept (posts queue meanwhile). */
  connect(peerAddress: string, timeoutMs?: number): void {
    callNative(`${this.context.provider.kind} connect`, () => this.native.connect(peerAddress, timeoutMs));
  }

  /**
   * Sends [offset, offset+length) of `key` as one message; `inline` (tcp provider only, at most
   * 64 bytes, like IBV_SEND_INLINE) is copied now and goes first, in the same message.
   */
  send(key: number, offset: number, length: number, inline?: Uint8Array): Promise<ShmCompletion> {
    if (inline !== undefined && this.context.provider.kind !== 'tcp') throw invalidArgument(`${this.context.provider.kind} postSend: inline bytes need the tcp provider`);
    return this.context.track(`${this.context.provider.kind} postSend`, (id) => this.native.postSend(id, key, offset, length, inline));
  }

  /**
   * The small path: sends header ‖ payload as one message from this thread (copied into the
   * peer's ring, or written to the socket: the tcp provider's up to 64 KiB), when it fits now and
   * no earlier post is still queued; true when it was sent (the bytes may be reused at once, no
   * completion follows). false: nothing was sent (ring or socket full, posts queued, peer gone,
   * an addon without it): post it with send().
   */
  sendNow(header: Uint8Array, payload: Uint8Array): boolean {
    const native = this.native;
    if (!native.sendNow) return false;
    return callNative(`${this.context.provider.kind} sendNow`, () => native.sendNow!(header, payload));
  }

  recv(key: number, offset: number, length: number): Promise<ShmCompletion> {
    return this.context.track(`${this.context.provider.kind} postRecv`, (id) => this.native.postRecv(id, key, offset, length));
  }

  /**
   * recv() without a promise (the receive path of a channel, once per message): `done` or
   * `failed` is called with the completion when it comes. Throws like recv() at the post.
   */
  recvThen(key: number, offset: number, length: number, done: (completion: ShmCompletion) => void, failed: (error: WebcclError) => void): void {
    this.context.trackWith(`${this.context.provider.kind} postRecv`, (id) => this.native.postRecv(id, key, offset, length), { resolve: done, reject: failed });
  }

  /** Whether this endpoint takes expected receives (the tcp provider). */
  get expects(): boolean {
    return this.native.postExpect !== undefined;
  }

  /**
   * An expected receive (tcp provider; like a tagged receive): the next message that begins
   * with `head` and has `length` bytes after it puts those into [offset, offset + length) of
   * `key` as they arrive, folded with reduce's kernels when given; the receive it arrives on
   * completes with `id` as its imm and holds the head alone.
   */
  expect(id: number, head: Uint8Array, key: number, offset: number, length: number, reduce?: { dtype: string; op: string }): void {
    const native = this.native;
    if (!native.postExpect) throw invalidArgument(`${this.context.provider.kind}: expected receives need the tcp provider`);
    callNative(`${this.context.provider.kind} postExpect`, () => native.postExpect!(id, head, key, offset, length, reduce?.dtype, reduce?.op));
  }

  /** Withdraws expect(id): true when no message had taken it yet. */
  cancelExpect(id: number): boolean {
    const native = this.native;
    return native.cancelExpect ? callNative(`${this.context.provider.kind} cancelExpect`, () => native.cancelExpect!(id)) : false;
  }

  /** One-sided write of [offset, offset+length) of `key` to remoteOffset of the peer's `remoteKey`. */
  write(key: number, offset: number, length: number, remoteKey: number, remoteOffset: number, imm?: number): Promise<ShmCompletion> {
    return this.context.track(`${this.context.provider.kind} postWrite`, (id) => this.native.postWrite(id, key, offset, length, remoteKey, remoteOffset, imm));
  }

  /**
   * Single copy (shm provider only): "" when this process can read the peer's memory with
   * process_vm_readv, else why not (another uid, Yama's ptrace_scope, the tcp provider).
   */
  readsPeer(): string {
    const native = this.native;
    if (!native.singleCopy) return `the ${this.context.provider.kind} provider has no single copy`;
    return callNative(`${this.context.provider.kind} readsPeer`, () => native.singleCopy!().readsPeer);
  }

  /** True once the peer has connected and can read this process's memory (large sends may then go by reference). */
  peerReads(): boolean {
    return this.native.singleCopy?.().peerReads ?? false;
  }

  /**
   * Copies view.byteLength bytes of the peer's memory at `remoteAddress` (its context's
   * addressOf) into `view`, synchronously: one copy. A peer that died is a RemoteError.
   */
  read(view: ArrayBufferView, remoteAddress: number): void {
    const native = this.native;
    if (!native.read) throw invalidArgument(`${this.context.provider.kind}: read needs the shm provider`);
    try {
      native.read(view, remoteAddress);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw PEER_GONE.test(message) ? remoteError(`${this.context.provider.kind} read: ${message}`) : asNativeError(`${this.context.provider.kind} read`, error);
    }
  }

  destroy(): void {
    this.native.destroy();
  }
}
