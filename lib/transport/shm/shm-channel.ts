// One shm endpoint (lib/native/shm.ts) as a FrameChannel of a FramedTransport (Node only): the
// framed transport keeps doing segmentation, ordering, keyed receive, release of payloads and
// failure propagation, exactly as over tcp; this file only moves frames.
//
// Every frame (56-byte header + segment) travels as one two-sided send: it is copied into a
// registered send slot, posted, and the write resolves on the send's completion (the bytes are
// in the peer's ring). Over the tcp provider a segment of DIRECT_SEND_BYTES or more is not
// copied: the segment's memory is registered for the send's lifetime (a table entry there,
// nothing is published to the peer), the header rides inline, and the socket reads straight
// from the message; the slot is still taken, as the credit that bounds frames in flight. The receiving side keeps a few registered receive slots posted; each
// completion is handed to the transport (header, then payload straight into its message) and
// the slot is posted again. The provider completes receives in the order they were posted,
// so frames arrive in order. Receive backpressure is simply not reposting: the peer's ring
// fills and its sends stop completing (an RNR wait), which is the sender's backpressure.
//
// One-sided writes are not used yet: the provider carries them through the same ring (two
// copies either way), so they would only add a round trip to learn the target's key; they pay
// once the provider writes straight into a peer's region (native/README.md, "not done yet").
import { systemError, type WebcclError } from '../../errors.js';
import type { ShmCompletion, ShmContext, ShmEndpoint } from '../../native/shm.js';
import { HEADER_BYTES } from '../frame.js';
import { CLOSE_NORMAL, type FrameChannel } from '../framed/frame-channel.js';
import type { FramedTransport } from '../framed/framed-transport.js';
import { SlotPool } from './slot-pool.js';

/** What a channel is given: its endpoint (connected), the context that registers its slots, sizes. */
export interface ShmChannelOptions {
  readonly context: ShmContext;
  readonly endpoint: ShmEndpoint;
  readonly peer: number;
  readonly transport: FramedTransport;
  /** Bytes of the largest frame (header + one segment). */
  readonly frameBytes: number;
  readonly sendSlots: number;
  readonly receiveSlots: number;
}

/**
 * Segments from this size on are sent from the message's own memory over the tcp provider:
 * below it, copying into the slot costs less than registering and deregistering the memory.
 */
export const DIRECT_SEND_BYTES = 32 << 10;

/** The reason a clean close carries to the peer's waiters, in the words of the tcp and websocket meshes. */
const CLOSED_WITHOUT_GOODBYE = 1006;

export class ShmChannel implements FrameChannel {
  private readonly context: ShmContext;
  private readonly endpoint: ShmEndpoint;
  private readonly transport: FramedTransport;
  private readonly peer: number;
  private readonly frameBytes: number;
  private readonly sends: SlotPool;
  private readonly receives: SlotPool;
  /** Receive slots completed while reading is paused, posted again on resume. */
  private readonly idle: number[] = [];
  private readonly waitingWrites = new Set<(error: Error) => void>();
  private paused = false;
  private closed: WebcclError | undefined;

  constructor(options: ShmChannelOptions) {
    this.context = options.context;
    this.endpoint = options.endpoint;
    this.transport = options.transport;
    this.peer = options.peer;
    this.frameBytes = options.frameBytes;
    // Over tcp only frames below DIRECT_SEND_BYTES are copied into a send slot: smaller slots do.
    const sendSlotBytes = this.context.provider.kind === 'tcp' ? Math.min(options.frameBytes, HEADER_BYTES + DIRECT_SEND_BYTES) : options.frameBytes;
    this.sends = new SlotPool(options.context, options.sendSlots, sendSlotBytes);
    this.receives = new SlotPool(options.context, options.receiveSlots, options.frameBytes);
    for (let slot = 0; slot < options.receiveSlots; slot++) this.postReceive(slot);
  }

  async write(header: Uint8Array, segment: Uint8Array): Promise<void> {
    const bytes = header.byteLength + segment.byteLength;
    if (bytes > this.frameBytes) throw systemError(`rank ${this.transport.rank}: a frame of ${bytes} bytes exceeds the shm slot of ${this.frameBytes}`);
    const slot = await this.whileOpen(this.sends.acquire());
    try {
      if (this.context.provider.kind === 'tcp' && segment.byteLength >= DIRECT_SEND_BYTES) return await this.sendDirect(header, segment);
      const view = this.sends.view(slot);
      view.set(header, 0);
      view.set(segment, header.byteLength);
      await this.whileOpen(this.failOnLoss(this.endpoint.send(this.sends.key, this.sends.offset(slot), bytes)));
    } finally {
      this.sends.release(slot);
    }
  }

  /**
   * The segment straight from its memory, the header inline. If the channel closes first, the
   * deregistration below runs after close() has joined the endpoint's thread; were a region
   * deregistered under a send anyway, the provider fails that send, it never reads freed memory.
   */
  private async sendDirect(header: Uint8Array, segment: Uint8Array): Promise<void> {
    const key = this.context.registerMemory(segment);
    try {
      await this.whileOpen(this.failOnLoss(this.endpoint.send(key, 0, segment.byteLength, header)));
    } finally {
      if (!this.context.destroyed) this.context.deregisterMemory(key);
    }
  }

  /** `sent`, reporting the connection lost when it fails. */
  private failOnLoss<T>(sent: Promise<T>): Promise<T> {
    return sent.catch((error: unknown) => {
      this.lost(error);
      throw error;
    });
  }

  pauseReading(): void {
    this.paused = true;
  }

  resumeReading(): void {
    this.paused = false;
    for (const slot of this.idle.splice(0)) this.postReceive(slot);
  }

  close(_code: number, reason: string): void {
    if (this.closed) return;
    this.closed = systemError(`rank ${this.transport.rank}: connection to peer ${this.peer} closed (${reason})`);
    for (const reject of this.waitingWrites) reject(this.closed);
    this.waitingWrites.clear();
    this.sends.close(this.closed);
    // The peer's progress thread sees the closed flag and fails its waiters as a clean close.
    this.endpoint.destroy();
  }

  private postReceive(slot: number): void {
    if (this.closed) return;
    let posted: Promise<ShmCompletion>;
    try {
      posted = this.endpoint.recv(this.receives.key, this.receives.offset(slot), this.frameBytes);
    } catch (error) {
      return this.lost(error);
    }
    posted.then((completion) => this.received(slot, completion.bytes), (error: unknown) => this.lost(error));
  }

  private received(slot: number, bytes: number): void {
    if (this.closed) return;
    const frame = this.receives.view(slot).subarray(0, bytes);
    if (bytes < HEADER_BYTES) return this.transport.untrusted(this.peer, new Error(`an shm message of ${bytes} bytes is shorter than a frame header`));
    const target = this.transport.receiveFrameHead(frame.subarray(0, HEADER_BYTES), this.peer);
    if (target === undefined) return; // the transport failed the connection
    if (target.byteLength !== bytes - HEADER_BYTES) {
      return this.transport.untrusted(this.peer, new Error(`a frame announces ${target.byteLength} payload bytes but carries ${bytes - HEADER_BYTES}`));
    }
    target.set(frame.subarray(HEADER_BYTES));
    this.transport.receivePayload(this.peer);
    if (this.paused) this.idle.push(slot);
    else this.postReceive(slot);
  }

  /** The endpoint failed (peer died or closed, or the endpoint was destroyed under us). */
  private lost(error: unknown): void {
    if (this.closed) return;
    const detail = error instanceof Error ? error.message.replace(/^\w+Error: /, '') : String(error);
    const closedByPeer = / closed the endpoint$/.test(detail);
    this.transport.connectionLost(this.peer, closedByPeer ? CLOSE_NORMAL : CLOSED_WITHOUT_GOODBYE, detail);
  }

  /** `pending`, or the close's error if the channel closes first. */
  private whileOpen<T>(pending: Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise<T>((resolve, reject) => {
      this.waitingWrites.add(reject);
      pending.then(resolve, reject).finally(() => this.waitingWrites.delete(reject));
    });
  }
}

