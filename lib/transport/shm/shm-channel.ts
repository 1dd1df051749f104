// One shm endpoint (lib/native/shm.ts) as a FrameChannel of a FramedTransport (Node only): the
// framed transport keeps doing segmentation, ordering, keyed receive, release of payloads and
// failure propagation, exactly as over tcp; this file only moves frames.
//
// Every frame (56-byte header + segment) travels as one two-sided send. The small path
// (writeNow): a frame that fits a slot, with no earlier write still waiting for its post, is
// copied straight into the peer's ring (tcp: written to the socket, up to 16 KiB) by this thread
// and is done at once.
// Otherwise it is copied into a registered send slot, posted, and the write resolves on the
// send's completion (the bytes are in the peer's ring). Over the tcp provider a segment of DIRECT_SEND_BYTES or more is not
// copied: the segment's memory is registered for the send's lifetime (a table entry there,
// nothing is published to the peer), the header rides inline, and the socket reads straight
// from the message; the slot is still taken, as the credit that bounds frames in flight.
// The receiving side keeps a few registered receive slots posted; each completion is handed to the transport (header, then payload straight into its message) and
// the slot is posted again. The provider completes receives in the order they were posted,
// so frames arrive in order. Receive backpressure is simply not reposting: the peer's ring
// fills and its sends stop completing (an RNR wait), which is the sender's backpressure.
//
// Single copy for large segments (like Open MPI vader's CMA get): when the peer can read this
// process's memory (ShmEndpoint.peerReads: same uid, ptrace allowed), a segment of
// singleCopyBytes or more is not copied at all here. Such a message is not cut at the ring's
// slot size but at referenceSegmentBytes (segmentBytes below): every frame by reference costs
// a descriptor, a read and an ack, each a thread handoff, so fewer frames cost less. The message carries only the frame
// header and the segment's address and length (a descriptor); the receiver asks the transport
// where the payload goes and reads it straight there from this process (process_vm_readv,
// one copy in all), then sends an ack, and only then does the write resolve (the segment must
// stay unchanged until it is read). Smaller frames keep the ring path (four copies: into the
// slot, into the ring, out of it, into the message), which costs less than the ack round trip.
// A send by reference is a rendezvous (as in MPI): it resolves when the receiver has read it,
// so a paused reader holds it, where the ring would have buffered up to 4 MiB.
// Messages are told apart by their size: ACK_BYTES is an ack, DESCRIPTOR_BYTES with a header
// announcing more payload than it carries is a descriptor, anything else is a whole frame.
// Acks ride on descriptors: when the receiver says it answers the sender in the same turn
// (Landing.answeredAtOnce: a 2-rank ring's last reduce-scatter step, whose all-gather send
// goes back to the same peer), a read's ack is not posted at once: the descriptor of that
// send carries it (its count of acks), or, if none goes out, one is posted at the end of the
// turn (setImmediate). One post (one doorbell, one wakeup of the peer) instead of two, and the
// reader's thread no longer stalls on the ack's doorbell in the middle of its step. Any other
// read is acked at once, so a call never returns with its peer's send waiting on user code.
// One-sided writes are not used: they would add a round trip to learn the target's key.
// Expected receives (tcp provider): when the algorithm waits for a message with a landing
// (lib/memory/landing.ts), the transport tells the channel the frame heads that message will
// carry, one per frame, each with its span of the message (expect); the channel registers the
// landing's memory once and lists every head with the endpoint. The I/O thread compares each
// frame's first 56 bytes with the list, and a match has the rest of its payload received
// straight into its span of the landing (no copy out of the receive slot) or, for a fold,
// received into a cache-sized bounce buffer and reduced into it piece by piece as it arrives,
// on the I/O thread, with the native kernels (bit-identical to the reducer's). The receive
// slot then holds the head alone and its completion names the match. Messages larger than a
// frame (a 64 MiB allreduce at 4 ranks sends 4 MiB messages in 2 MiB frames) land too: before,
// only messages of one frame did, and every other byte was copied out of the slot on the event
// loop, then folded there (docs/PERFORMANCE.md, land25).
import { invalidArgument, systemError, WebcclError } from '../../errors.js';
import { logger } from '../../log.js';
import type { ShmCompletion, ShmContext, ShmEndpoint } from '../../native/shm.js';
import type { Landing } from '../../memory/landing.js';
import { readEnv } from '../../settings.js';
import { PendingList } from '../../pending-list.js';
import { HEADER_BYTES } from '../frame.js';
import { CLOSE_NORMAL, type ExpectedFrame, type FrameChannel } from '../framed/frame-channel.js';
import type { FrameSink, FramedTransport } from '../framed/framed-transport.js';
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
  /** Segments of this many bytes or more go by reference when the peer can read this process (Infinity: never). */
  readonly singleCopyBytes: number;
  /** Payload bytes of a frame by reference, at most (the peer's receive limits admit them). */
  readonly referenceSegmentBytes: number;
}

/**
 * Segments from this size on are sent from the message's own memory over the tcp provider:
 * below it, copying into the slot costs less than registering and deregistering the memory.
 */
export const DIRECT_SEND_BYTES = 32 << 10;

/**
 * Pieces in which a segment by reference is read when it is folded on arrival: small enough to
 * stay in a core's L2 between the read and the reduction, large enough that the syscall per
 * piece costs little; a multiple of every element size.
 */
const FOLD_PIECE_BYTES = 256 << 10;

/** Landings from this size on are expected (tcp): below it, copying out of the slot costs less than registering them. */
export const EXPECT_BYTES = 32 << 10;

/**
 * Which landings the tcp provider takes on arrival (WEBCCL_NTCP_LANDING): 'fold' (the default:
 * copies and folds), 'copy' (copies only; folds run on the event loop from the slot), 'off'.
 */
export function ntcpLandingMode(): 'off' | 'copy' | 'fold' {
  const raw = readEnv('WEBCCL_NTCP_LANDING') ?? 'fold';
  if (raw !== 'off' && raw !== 'copy' && raw !== 'fold') throw invalidArgument(`WEBCCL_NTCP_LANDING=${raw} is none of off, copy, fold`);
  return raw;
}

/** An ack: the receiver has read a segment sent by reference. */
const ACK_BYTES = 8;
/** A descriptor: frame header, then the segment's address, byte length and the acks it carries (float64 each). */
const DESCRIPTOR_BYTES = HEADER_BYTES + 24;

/** What an ack sent by sendNow carries (its content does not matter), and an empty header. */
const NO_BYTES = new Uint8Array(0);

/** The reason a clean close carries to the peer's waiters, in the words of the tcp and websocket meshes. */
const CLOSED_WITHOUT_GOODBYE = 1006;

/** One landing's memory, registered for its frames' expected receives (ids) until they landed or its wait ended. */
interface LandingRegistration {
  readonly key: number;
  readonly ids: number[];
  registered: boolean;
}

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
  /** Rejected when the channel closes (not a Set: see lib/pending-list.ts). */
  private readonly waitingWrites = new PendingList<(error: Error) => void>();
  private readonly singleCopyBytes: number;
  private readonly referenceSegmentBytes: number;
  /** Writes sent by reference, oldest first, waiting for the peer's ack (it reads in order). */
  private readonly awaitingAcks: { resolve(): void; reject(error: unknown): void }[] = [];
  /** The bytes every ack is sent from (their content does not matter). */
  private readonly ackKey: number;
  /** Reads done whose ack is not posted yet: the next descriptor carries them, or flushAcks posts them. */
  private unsentAcks = 0;
  private flushScheduled = false;
  private paused = false;
  private readonly ackBytes = new Uint8Array(ACK_BYTES);
  /** Which landings are expected (tcp provider only; 'off' elsewhere). */
  private readonly landingMode: 'off' | 'copy' | 'fold';
  /** FrameChannel.expect, only where landings are expected: elsewhere the transport does not even encode the heads. */
  readonly expect?: (frames: readonly ExpectedFrame[], landing: Landing) => (() => void) | undefined;
  /** Expected receives listed with the endpoint, by id: the frame's span of its landing, and the landing's registration. */
  private readonly expected = new Map<number, { readonly target: Uint8Array; readonly fold: boolean; readonly registration: LandingRegistration }>();
  private nextExpect = 1;
  /** Data frames received, and those of them the I/O thread put into a landing (logged at close, INFO). */
  private framesIn = 0;
  private framesLanded = 0;
  /** The bounce buffer of folds by reference (FOLD_PIECE_BYTES), made on first use. */
  private bounce: Uint8Array | undefined;

  private closed: WebcclError | undefined;

  constructor(options: ShmChannelOptions) {
    this.context = options.context;
    this.endpoint = options.endpoint;
    this.transport = options.transport;
    this.peer = options.peer;
    this.frameBytes = options.frameBytes;
    this.singleCopyBytes = options.singleCopyBytes;
    this.referenceSegmentBytes = options.referenceSegmentBytes;
    this.ackKey = options.context.registerMemory(new Uint8Array(64));
    this.landingMode = options.endpoint.expects ? ntcpLandingMode() : 'off';
    if (this.landingMode !== 'off') this.expect = (frames, landing) => this.listExpected(frames, landing);
    const reads = options.endpoint.readsPeer();
    logger('NET', this.transport.rank).info(reads === ''
      ? `${options.context.provider.kind} peer ${this.peer}: single copy (process_vm_readv) for segments of ${this.singleCopyBytes} bytes or more`
      : `${options.context.provider.kind} peer ${this.peer}: ring path only (${reads})`);
    // Over tcp only frames below DIRECT_SEND_BYTES are copied into a send slot: smaller slots do.
    const sendSlotBytes = this.context.provider.kind === 'tcp' ? Math.min(options.frameBytes, HEADER_BYTES + DIRECT_SEND_BYTES) : options.frameBytes;
    this.sends = new SlotPool(options.context, options.sendSlots, sendSlotBytes);
    this.receives = new SlotPool(options.context, options.receiveSlots, options.frameBytes);
    for (let slot = 0; slot < options.receiveSlots; slot++) this.postReceive(slot);
  }

  /**
   * A message that goes by reference is cut only at referenceSegmentBytes (when a threshold
   * above that keeps such frames off the reference path, at the ring's size); others fit the
   * ring's slots.
   */
  segmentBytes(messageBytes: number): number {
    const ring = this.frameBytes - HEADER_BYTES;
    if (messageBytes < this.singleCopyBytes || this.singleCopyBytes > this.referenceSegmentBytes || !this.endpoint.peerReads()) return ring;
    return this.referenceSegmentBytes;
  }

  /**
   * The small path: a frame that fits a slot goes straight into the peer's ring (or socket) from
   * this thread and is done (no slot, no completion, no promise), unless an earlier write still
   * waits to be posted (one holds a slot until its completion: frames must keep their order).
   */
  writeNow(header: Uint8Array, segment: Uint8Array): boolean {
    if (this.closed || !this.sends.idle) return false;
    if (segment.byteLength >= this.singleCopyBytes || header.byteLength + segment.byteLength > this.frameBytes) return false;
    try {
      return this.endpoint.sendNow(header, segment);
    } catch {
      return false; // write() posts it and reports what is wrong
    }
  }

  async write(header: Uint8Array, segment: Uint8Array): Promise<void> {
    if (this.writeNow(header, segment)) return;
    // By reference: segments from the threshold on, and the tail of a message cut for that path
    // even when below it, if it does not fit a slot.
    // A segment of exactly a descriptor's payload size would read as a descriptor: it fits a slot.
    const size = segment.byteLength;
    const byReference = size <= this.referenceSegmentBytes && size !== DESCRIPTOR_BYTES - HEADER_BYTES
      && (size >= this.singleCopyBytes || header.byteLength + size > this.frameBytes);
    if (byReference && this.endpoint.peerReads()) {
      return this.writeByReference(header, segment);
    }
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

  /** Sends the header and where the segment lies; resolves when the peer has read it (its ack). */
  private async writeByReference(header: Uint8Array, segment: Uint8Array): Promise<void> {
    const slot = await this.whileOpen(this.sends.acquire());
    let acked: Promise<void>;
    try {
      const view = this.sends.view(slot);
      view.set(header, 0);
      const where = new DataView(view.buffer, view.byteOffset + HEADER_BYTES, DESCRIPTOR_BYTES - HEADER_BYTES);
      where.setFloat64(0, this.context.addressOf(segment), true);
      where.setFloat64(8, segment.byteLength, true);
      where.setFloat64(16, this.unsentAcks, true);
      this.unsentAcks = 0;
      // Queued before the post: acks come back in the order the descriptors were sent.
      acked = new Promise<void>((resolve, reject) => this.awaitingAcks.push({ resolve, reject }));
      acked.catch(() => {}); // awaited below unless the post itself fails (lost() then rejects it too)
      await this.whileOpen(this.failOnLoss(this.endpoint.send(this.sends.key, this.sends.offset(slot), DESCRIPTOR_BYTES)));
    } finally {
      this.sends.release(slot);
    }
    await this.whileOpen(acked);
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
    // Reads this side finished are acked before the endpoint goes (the peer's writes then
    // complete instead of waiting on a connection that closed): a call can return, and its
    // communicator be destroyed, before the turn's flush runs.
    this.flushAcks();
    if (this.landingMode !== 'off') logger('NET', this.transport.rank).info(`ntcp peer ${this.peer}: ${this.framesLanded} of ${this.framesIn} data frames landed on arrival`);
    this.closed = systemError(`rank ${this.transport.rank}: connection to peer ${this.peer} closed (${reason})`);
    for (const reject of this.waitingWrites.drain()) reject(this.closed);
    this.sends.close(this.closed);
    // The peer's progress thread sees the closed flag and fails its waiters as a clean close.
    this.endpoint.destroy();
    // Its I/O thread is joined: no landing is written any more.
    for (const { registration } of this.expected.values()) this.release(registration);
    this.expected.clear();
  }

  private postReceive(slot: number): void {
    if (this.closed) return;
    try {
      this.endpoint.recvThen(this.receives.key, this.receives.offset(slot), this.frameBytes, (completion) => {
        if (completion.imm === undefined) this.received(slot, completion.bytes);
        else this.receivedExpected(slot, completion.bytes, completion.imm);
      }, (error) => this.lost(error));
    } catch (error) {
      this.lost(error);
    }
  }

  private received(slot: number, bytes: number): void {
    if (this.closed) return;
    const frame = this.receives.view(slot).subarray(0, bytes);
    if (bytes === ACK_BYTES) {
      // Not data: reposted even while reading is paused, so that this side's writes finish.
      this.postReceive(slot);
      this.acked(1);
      return;
    }
    if (bytes < HEADER_BYTES) return this.transport.untrusted(this.peer, new Error(`an shm message of ${bytes} bytes is shorter than a frame header`));
    this.framesIn++;
    const sink = this.transport.receiveFrameSink(frame.subarray(0, HEADER_BYTES), this.peer);
    if (sink === undefined) return; // the transport failed the connection
    const { target } = sink;
    if (bytes === DESCRIPTOR_BYTES && target.byteLength !== bytes - HEADER_BYTES) {
      // Its acks are for reads the peer did before posting it.
      if (!this.acked(new DataView(frame.buffer, frame.byteOffset + HEADER_BYTES + 16, 8).getFloat64(0, true))) return;
      if (!this.readByReference(frame, sink)) return;
    } else if (target.byteLength !== bytes - HEADER_BYTES) {
      return this.transport.untrusted(this.peer, new Error(`a frame announces ${target.byteLength} payload bytes but carries ${bytes - HEADER_BYTES}`));
    } else if (sink.fold) {
      // Fused receive: reduced straight from the receive slot into the caller's memory.
      if (!this.folded(() => sink.fold!(target, frame.subarray(HEADER_BYTES)))) return;
    } else {
      target.set(frame.subarray(HEADER_BYTES));
    }
    this.transport.receivePayload(this.peer);
    if (this.paused) this.idle.push(slot);
    else this.postReceive(slot);
  }

  /**
   * Lists the frames of a message as expected receives whose payloads go to the landing, each
   * to its span (FrameChannel.expect), under one registration of the landing's memory; undefined
   * when this channel does not take it (a small landing, a fold the native kernels do not do,
   * every region or the list in use).
   */
  private listExpected(frames: readonly ExpectedFrame[], landing: Landing): (() => void) | undefined {
    const length = landing.target.byteLength;
    if (this.closed || length < EXPECT_BYTES) return undefined;
    if (landing.fold && (this.landingMode !== 'fold' || !landing.reduce)) return undefined;
    let registration: LandingRegistration;
    try {
      registration = { key: this.context.registerMemory(landing.target), ids: [], registered: true };
    } catch {
      return undefined; // every region in use: the frames take the slots
    }
    for (const frame of frames) {
      const id = this.nextExpect;
      this.nextExpect = id >= 0xffffffff ? 1 : id + 1;
      try {
        this.endpoint.expect(id, frame.head, registration.key, frame.offset, frame.length, landing.fold ? landing.reduce : undefined);
      } catch {
        this.unexpect(registration);
        return undefined; // the endpoint's list is full: the message takes the slots
      }
      registration.ids.push(id);
      this.expected.set(id, { target: landing.target.subarray(frame.offset, frame.offset + frame.length), fold: landing.fold !== undefined, registration });
    }
    return () => this.unexpect(registration);
  }

  /**
   * The landing's wait is over (its message was handed out, or the call failed): nothing may
   * land there any more. When a frame matched already and is still arriving, the deregistration
   * below waits for the I/O thread's system call in that memory to return, and the frame's
   * receive then fails (the connection with it: the call it belonged to is over).
   */
  private unexpect(registration: LandingRegistration): void {
    for (const id of registration.ids) {
      if (!this.expected.delete(id)) continue; // landed, or withdrawn at close
      if (!this.context.destroyed) this.endpoint.cancelExpect(id);
    }
    this.release(registration);
  }

  /** Deregisters a landing's memory once (its frames all landed, or its wait is over). */
  private release(registration: LandingRegistration): void {
    if (!registration.registered) return;
    registration.registered = false;
    if (!this.context.destroyed) this.context.deregisterMemory(registration.key);
  }

  /** A frame whose payload the I/O thread put into expectation `id`'s span of its landing: the slot holds its head. */
  private receivedExpected(slot: number, bytes: number, id: number): void {
    if (this.closed) return;
    const entry = this.expected.get(id);
    if (!entry) return this.transport.untrusted(this.peer, new Error(`a frame landed in expected receive ${id}, which was withdrawn`));
    this.expected.delete(id);
    const { registration } = entry;
    if (registration.ids.every((other) => !this.expected.has(other))) this.release(registration);
    this.framesIn++;
    this.framesLanded++;
    if (bytes !== HEADER_BYTES + entry.target.byteLength) {
      return this.transport.untrusted(this.peer, new Error(`expected receive ${id} of ${entry.target.byteLength} bytes completed with ${bytes - HEADER_BYTES}`));
    }
    const sink = this.transport.receiveFrameSink(this.receives.view(slot).subarray(0, HEADER_BYTES), this.peer);
    if (sink === undefined) return;
    const { target } = sink;
    if (target.buffer !== entry.target.buffer || target.byteOffset !== entry.target.byteOffset || target.byteLength !== entry.target.byteLength || !sink.fold !== !entry.fold) {
      return this.transport.untrusted(this.peer, new Error(`a frame put into expected receive ${id} belongs elsewhere`));
    }
    this.transport.receivePayload(this.peer);
    if (this.paused) this.idle.push(slot);
    else this.postReceive(slot);
  }

  /** Resolves the oldest `count` writes by reference; false (the connection failed) if fewer wait. */
  private acked(count: number): boolean {
    if (!Number.isInteger(count) || count < 0 || count > this.awaitingAcks.length) {
      this.transport.untrusted(this.peer, new Error(`${count} shm acks for ${this.awaitingAcks.length} segments sent by reference`));
      return false;
    }
    for (const waiter of this.awaitingAcks.splice(0, count)) waiter.resolve();
    return true;
  }

  /** Runs a landing's fold; false (the connection failed, naming why) if it threw. */
  private folded(fold: () => void): boolean {
    try {
      fold();
      return true;
    } catch (error) {
      this.transport.untrusted(this.peer, new Error(`folding a received frame into its landing failed: ${(error as Error).message}`));
      return false;
    }
  }

  /**
   * Reads a segment sent by reference straight into the sink's target and acks it; false if the
   * channel failed. A sink that folds (fused receive) gets it piece by piece through a bounce
   * buffer small enough to stay in cache: each piece is reduced right after it is read.
   */
  private readByReference(descriptor: Uint8Array, sink: FrameSink): boolean {
    const { target, fold } = sink;
    const where = new DataView(descriptor.buffer, descriptor.byteOffset + HEADER_BYTES, 16);
    const length = where.getFloat64(8, true);
    if (length !== target.byteLength) {
      this.transport.untrusted(this.peer, new Error(`an shm descriptor of ${length} bytes for a frame of ${target.byteLength}`));
      return false;
    }
    const address = where.getFloat64(0, true);
    try {
      if (!fold) {
        this.endpoint.read(target, address);
      } else {
        this.bounce ??= new Uint8Array(FOLD_PIECE_BYTES);
        for (let at = 0; at < length; at += FOLD_PIECE_BYTES) {
          const piece = this.bounce.subarray(0, Math.min(FOLD_PIECE_BYTES, length - at));
          this.endpoint.read(piece, address + at);
          if (!this.folded(() => fold(target.subarray(at, at + piece.byteLength), piece))) return false;
        }
      }
    } catch (error) {
      // The peer went (RemoteError): a lost connection. Any other failure (a bad address) is a
      // peer that cannot be trusted: closing destroys the endpoint, whose closed flag also
      // stops the peer from reading this side's segments after its sends have failed.
      if (error instanceof WebcclError && error.code === 'RemoteError') this.lost(error);
      else this.transport.untrusted(this.peer, error);
      return false;
    }
    this.unsentAcks++;
    if (!sink.answeredAtOnce) this.flushAcks();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flushAcks();
      });
    }
    return true;
  }

  /** Posts the acks no descriptor carried, one message each. */
  private flushAcks(): void {
    for (; this.unsentAcks > 0 && !this.closed; this.unsentAcks--) {
      try {
        // Straight into the ring when it can (no completion to wait for); acks need no order
        // among data frames, so one may pass a write still waiting for its post.
        if (this.endpoint.sendNow(NO_BYTES, this.ackBytes)) continue;
        this.endpoint.send(this.ackKey, 0, ACK_BYTES).catch((error: unknown) => this.lost(error));
      } catch (error) {
        return this.lost(error);
      }
    }
  }

  /** The endpoint failed (peer died or closed, or the endpoint was destroyed under us). */
  private lost(error: unknown): void {
    if (this.closed) return;
    // No ack comes any more: the writes waiting for one fail (else they would wait for the
    // call's timeout when the peer closed or died after reading nothing).
    for (const waiter of this.awaitingAcks.splice(0)) waiter.reject(error);
    const detail = error instanceof Error ? error.message.replace(/^\w+Error: /, '') : String(error);
    const closedByPeer = / closed the endpoint$/.test(detail);
    this.transport.connectionLost(this.peer, closedByPeer ? CLOSE_NORMAL : CLOSED_WITHOUT_GOODBYE, detail);
  }

  /** `pending`, or the close's error if the channel closes first. */
  private whileOpen<T>(pending: Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise<T>((resolve, reject) => {
      const waiting = this.waitingWrites.add(reject);
      pending.then(resolve, reject).finally(() => this.waitingWrites.remove(waiting));
    });
  }
}

