// A Transport over frame channels: segmentation, ordering, keyed receive queues, backpressure
// and failure propagation, shared by the Node meshes (websocket and tcp: one channel per peer)
// and the browser relay (one channel for all). Platform-neutral; the channels do the I/O.
import { WebcclError, detailOf, invalidArgument, remoteError, systemError } from '../../errors.js';
import { logger, type Logger } from '../../log.js';
import { decodeFrame, decodeFrameHead, encodeFrameHeader, frameError, type FrameHead } from '../frame.js';
import type { Header, HostedSwitch, Message, Transport, TransportFailure } from '../transport.js';
import { CLOSE_NORMAL, type ExpectedFrame, type FrameChannel } from './frame-channel.js';
import { Inbox } from './inbox.js';
import type { WireLimits } from './limits.js';
import { MessageAssembler, sameHeader } from './message-assembler.js';
import { PayloadPool } from './payload-pool.js';
import type { Landing } from '../../memory/landing.js';
import type { BoardHost } from '../board.js';

/** Where a channel writes a frame's payload (receiveFrameSink): `target`, or folded into it by `fold`. */
export interface FrameSink {
  readonly target: Uint8Array;
  readonly fold?: Landing['fold'];
  readonly elementBytes?: number;
  readonly answeredAtOnce?: boolean;
}
import { CLOSE_BAD_FRAME } from '../handshake/handshake.js';

export interface FramedTransportOptions {
  readonly rank: number;
  readonly size: number;
  readonly description: string;
  readonly limits: WireLimits;
  /** The route field of frames sent to `peer`: our own rank (mesh) or the destination (relay). */
  readonly routeTo: (peer: number) => number;
  /** Releases what the transport's maker holds besides the channels (listening socket, ...). */
  readonly release?: () => void;
  /**
   * Overwrite received payloads with a pattern when their receiver releases them, so that a
   * use after release shows up as wrong data (tests). Default: on when WEBCCL_DEBUG=TRACE.
   */
  readonly poisonReleased?: boolean | undefined;
  /** Transport.chunkBytes: the chunk size to propose when none is set. */
  readonly chunkBytes?: number | undefined;
  /** Transport.meshThresholdBytes: the mesh threshold to propose when none is set. */
  readonly meshThresholdBytes?: number | undefined;
  /** Transport.referenceBytes: the single-copy threshold of the maker's channels (absent: none). */
  readonly referenceBytes?: number | undefined;
  /** Transport.board: the maker's collective board, where its ranks share a host's memory. */
  readonly board?: BoardHost | undefined;
}

export class FramedTransport implements Transport {
  readonly rank: number;
  readonly size: number;
  readonly description: string;
  /** Set by the relay client when the server says it hosts a switch. */
  hostedSwitch: HostedSwitch | undefined;
  readonly chunkBytes: number | undefined;
  /** Set by a world that learns it once connected (ntcp: whether the peers share this host). */
  meshThresholdBytes: number | undefined;
  readonly referenceBytes: number | undefined;
  readonly board: BoardHost | undefined;
  private readonly limits: WireLimits;
  private readonly channels = new Map<number, FrameChannel>();
  private readonly paused = new Set<number>();
  private readonly assemblers: MessageAssembler[];
  private readonly inbox: Inbox;
  /**
   * Per peer: resolves when the previous message's segments have all been handed to the channel
   * (undefined: none is being handed). Arrays by peer, not Maps that every send or landing adds
   * to and deletes from (lib/pending-list.ts says what such a table costs).
   */
  private readonly sendTails: (Promise<void> | undefined)[] = [];
  /** Per peer: landings registered for messages not yet arrived (and the header each expects); a few at a time. */
  private readonly landings: ListedLanding[][] = [];
  private readonly controlListeners: ((message: Message) => void)[] = [];
  private readonly failureListeners: ((failure: TransportFailure) => void)[] = [];
  private closedWith: WebcclError | undefined;
  private readonly log: Logger;

  constructor(private readonly options: FramedTransportOptions) {
    const { rank, size } = options;
    this.rank = rank;
    this.size = size;
    this.description = options.description;
    this.chunkBytes = options.chunkBytes;
    this.meshThresholdBytes = options.meshThresholdBytes;
    this.referenceBytes = options.referenceBytes;
    this.board = options.board;
    this.limits = options.limits;
    this.log = logger('NET', rank);
    // Released payloads are kept up to what receive backpressure lets pile up from two peers.
    const pool = new PayloadPool({ retainBytes: 2 * this.limits.receiveHighWaterBytes, poison: options.poisonReleased ?? this.log.traceEnabled });
    this.assemblers = Array.from({ length: size }, (_, peer) => new MessageAssembler(peer, pool));
    this.inbox = new Inbox(size, (peer) => this.applyReceivePressure(peer));
  }

  /**
   * Sends to `peer` go out on `channel` (the relay's one channel serves every peer). Whoever
   * reads the connection feeds its frames in: receiveFrame, or receiveFrameHead and receivePayload.
   */
  attach(peer: number, channel: FrameChannel): void {
    this.channels.set(peer, channel);
  }

  async send(peer: number, header: Header, payload: Uint8Array): Promise<void> {
    this.checkPeer(peer, 'send to');
    if (this.closedWith) throw this.closedWith;
    const failure = this.inbox.failureOf(peer);
    if (failure) throw failure;
    if (peer === this.rank) return this.sendToSelf(header, payload);
    const channel = this.channels.get(peer);
    if (!channel) throw systemError(`rank ${this.rank}: no connection to peer ${peer}`);
    // Frames of one message must go out back to back: wait until the previous message is issued.
    const previous = this.sendTails[peer];
    if (previous === undefined && this.writtenNow(peer, channel, header, payload)) return;
    let resolveTail!: () => void;
    const tail = new Promise<void>((resolve) => { resolveTail = resolve; });
    const issued = (): void => {
      resolveTail();
      if (this.sendTails[peer] === tail) this.sendTails[peer] = undefined;
    };
    this.sendTails[peer] = tail;
    await previous;
    try {
      await this.writeSegments(peer, channel, header, payload, issued);
    } finally {
      issued();
    }
  }

  /**
   * The small path: a message of one frame, with no earlier message to this peer still being
   * handed out, written at once if the channel can (FrameChannel.writeNow): no promise per
   * frame, no wait for a completion. False: it goes the usual way.
   */
  private writtenNow(peer: number, channel: FrameChannel, header: Header, payload: Uint8Array): boolean {
    const messageBytes = payload.byteLength;
    if (!channel.writeNow || messageBytes > (channel.segmentBytes?.(messageBytes) ?? this.limits.maxSegmentBytes)) return false;
    return channel.writeNow(encodeFrameHeader(header, { route: this.options.routeTo(peer), messageBytes, offset: 0 }, messageBytes), payload);
  }

  recv(peer: number, comm: number, seq: number): Promise<Message> {
    try {
      this.checkPeer(peer, 'receive from');
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.closedWith) return Promise.reject(this.closedWith);
    return this.inbox.take(peer, comm, seq);
  }

  land(peer: number, header: Header, landing: Landing): () => void {
    const listed = (this.landings[peer] ??= []);
    const entry = { header, landing };
    // A second landing for the same message replaces the first.
    const same = indexOfLanding(listed, header);
    if (same < 0) listed.push(entry);
    else listed[same] = entry;
    // A message whose first frames came before its landing was listed is being assembled in a
    // buffer of the pool: its later frames must go there too, not into the landing.
    const started = this.assemblers[peer]?.assembling();
    const unexpect = started && sameHeader(started, header) ? undefined : this.expectLanding(peer, header, landing);
    return () => {
      removeLanding(listed, listed.indexOf(entry));
      unexpect?.();
    };
  }

  /**
   * Tells `peer`'s channel which frames the landing waits for, when it can take their payloads
   * straight there (FrameChannel.expect): the frame heads that peer writes for the message, cut
   * as writeSegments cuts it (a mesh: the route is the sender's rank). Returns the channel's cancel.
   */
  private expectLanding(peer: number, header: Header, landing: Landing): (() => void) | undefined {
    const channel = this.channels.get(peer);
    if (!channel?.expect) return undefined;
    const messageBytes = landing.target.byteLength;
    let frames: ExpectedFrame[];
    try {
      frames = this.frameSpans(channel, messageBytes).map(({ offset, length }) => ({ head: encodeFrameHeader(header, { route: peer, messageBytes, offset }, length), offset, length }));
    } catch {
      return undefined; // a header that cannot be encoded never comes either
    }
    return channel.expect(frames, landing);
  }

  /**
   * How a message of `messageBytes` is cut into frames on `channel`: the spans writeSegments
   * sends and expectLanding lists, in order (one empty span for an empty message).
   */
  private frameSpans(channel: FrameChannel, messageBytes: number): { offset: number; length: number }[] {
    const segmentBytes = channel.segmentBytes?.(messageBytes) ?? this.limits.maxSegmentBytes;
    const spans = [];
    let offset = 0;
    do {
      const length = Math.min(segmentBytes, messageBytes - offset);
      spans.push({ offset, length });
      offset += length;
    } while (offset < messageBytes);
    return spans;
  }

  onControl(listener: (message: Message) => void): void {
    this.controlListeners.push(listener);
  }

  onFailure(listener: (failure: TransportFailure) => void): void {
    this.failureListeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.closedWith) return;
    this.closedWith = systemError(`rank ${this.rank}: transport closed`);
    for (let peer = 0; peer < this.size; peer++) this.inbox.fail(peer, this.closedWith);
    for (const channel of new Set(this.channels.values())) channel.close(CLOSE_NORMAL, `rank ${this.rank} closed its transport`);
    this.options.release?.();
  }

  /** Bytes received from `peer` that no recv() has claimed yet (diagnostics and tests). */
  queuedBytes(peer: number): number {
    return this.inbox.queuedBytes(peer);
  }

  /** Feeds one whole frame that arrived on `from`'s connection (undefined: a relay, trust the route). */
  receiveFrame(bytes: Uint8Array, from: number | undefined): void {
    if (this.closedWith) return;
    let message: Message | undefined;
    try {
      const frame = decodeFrame(bytes, this.limits);
      message = this.assemblerFor(frame.route, from).accept(frame);
    } catch (error) {
      return this.untrusted(from, error);
    }
    if (message) this.dispatch(message);
  }

  /**
   * A stream reader's first half of receiveFrame: the 56-byte header of a frame from `from`,
   * whose payload has not been read yet. Returns the buffer the payload must be read into
   * (exactly its length; a view into the message being assembled), then receivePayload(from)
   * once it is there. Returns undefined if the header is bad: the connection is then failed.
   */
  receiveFrameHead(head: Uint8Array, from: number): Uint8Array | undefined {
    return this.reserveFrame(head, from, false)?.target;
  }

  /**
   * receiveFrameHead for a channel that writes each frame's payload synchronously, before it
   * returns to the event loop: a message may then land (Transport.land), each frame's payload
   * written into, or folded (`fold`) into, its span of the caller's memory (the first frame
   * takes the landing, the later ones follow it). The channel must apply `fold` when there is
   * one, else write `target`; then receivePayload as usual.
   */
  receiveFrameSink(head: Uint8Array, from: number): FrameSink | undefined {
    return this.reserveFrame(head, from, true);
  }

  private reserveFrame(head: Uint8Array, from: number, mayLand: boolean): FrameSink | undefined {
    // Nothing more is read from a connection that failed (the reader stops when told undefined).
    if (this.closedWith || this.inbox.failureOf(from)) return undefined;
    try {
      const frame = decodeFrameHead(head, this.limits);
      const assembler = this.assemblerFor(frame.route, from);
      // A message's first frame takes its landing; the later ones follow it there (reserve).
      const landing = !mayLand ? undefined : frame.offset === 0 ? this.takeLanding(from, frame) : assembler.landing();
      if (!landing) return { target: assembler.reserve(frame) };
      // A fold takes whole elements: a frame that splits one cannot go to its span.
      if (frame.segmentBytes % landing.elementBytes !== 0) throw frameError(`from rank ${from}: a segment of ${frame.segmentBytes} bytes at offset ${frame.offset} splits the ${landing.elementBytes}-byte elements of the message it lands in`);
      const last = frame.offset + frame.segmentBytes === frame.messageBytes;
      return { target: assembler.reserve(frame, landing), fold: landing.fold, elementBytes: landing.elementBytes, answeredAtOnce: last && landing.answeredAtOnce === true };
    } catch (error) {
      this.untrusted(from, error);
      return undefined;
    }
  }

  /** The landing registered for this whole-message frame, if one is and its size matches (it is used up). */
  private takeLanding(from: number, frame: FrameHead): Landing | undefined {
    const listed = this.landings[from];
    if (!listed || listed.length === 0) return undefined;
    const at = indexOfLanding(listed, frame.header);
    const entry = listed[at];
    if (!entry || entry.landing.target.byteLength !== frame.messageBytes || !sameHeader(entry.header, frame.header)) return undefined;
    // A message cut into frames of part elements is not taken (the pool assembles it).
    if (frame.segmentBytes % entry.landing.elementBytes !== 0) return undefined;
    removeLanding(listed, at);
    return entry.landing;
  }

  /** The payload receiveFrameHead asked for has been written into the buffer it returned. */
  receivePayload(from: number): void {
    if (this.closedWith) return;
    const message = this.assemblers[from]!.commit();
    if (message) this.dispatch(message);
  }

  /**
   * A connection delivered something undecodable (`from`: the peer whose connection it is;
   * undefined: the relay's): it cannot be trusted any further and is closed.
   */
  untrusted(from: number | undefined, error: unknown): void {
    const detail = detailOf(error);
    if (from !== undefined) {
      this.peerFailed(from, systemError(`rank ${this.rank}: closing the connection to peer ${from}: ${detail}`), CLOSE_BAD_FRAME);
    } else {
      this.everyPeerFailed(systemError(`rank ${this.rank}: closing the relay connection: ${detail}`), CLOSE_BAD_FRAME);
    }
  }

  /**
   * The connection to `peer` is gone (or untrustworthy): every pending and later recv/send that
   * needs it rejects, listeners hear of it once, and the connection is closed with `closeCode`.
   */
  peerFailed(peer: number, error: Error, closeCode?: number): void {
    if (this.closedWith || peer < 0 || this.inbox.failureOf(peer)) return;
    this.log.warn(error.message);
    this.inbox.fail(peer, error);
    if (closeCode !== undefined) this.channels.get(peer)?.close(closeCode, error.message.slice(0, 120));
    for (const listener of this.failureListeners) listener({ peer, error });
  }

  /** The one connection every peer is reached through (relay) is gone. */
  everyPeerFailed(error: Error, closeCode?: number): void {
    for (let peer = 0; peer < this.size; peer++) if (peer !== this.rank) this.peerFailed(peer, error, closeCode);
  }

  /** The close of `peer`'s connection, as an error for the waiters on it. */
  connectionLost(peer: number, code: number, reason: string): void {
    const detail = `${code}${reason ? `: ${reason}` : ''}`;
    const error = code === CLOSE_NORMAL
      ? remoteError(`rank ${this.rank}: peer ${peer} closed its connection (${detail})`)
      : systemError(`rank ${this.rank}: connection to peer ${peer} lost (${detail})`);
    this.peerFailed(peer, error);
  }

  private async writeSegments(peer: number, channel: FrameChannel, header: Header, payload: Uint8Array, issued: () => void): Promise<void> {
    const messageBytes = payload.byteLength;
    const route = this.options.routeTo(peer);
    const inFlight: { bytes: number; done: Promise<void> }[] = [];
    let inFlightBytes = 0;
    for (const { offset, length } of this.frameSpans(channel, messageBytes)) {
      const segment = payload.subarray(offset, offset + length);
      const frameHeader = encodeFrameHeader(header, { route, messageBytes, offset }, length);
      const done = this.whileConnected(peer, channel.write(frameHeader, segment));
      // A dropped connection fails every segment in flight at once, but only the one awaited
      // first reports it (the loop below stops there): the others must not go unhandled.
      done.catch(() => {});
      inFlight.push({ bytes: length, done });
      inFlightBytes += length;
      // Send backpressure: no more than the high-water mark handed to the socket unwritten.
      while (inFlightBytes > this.limits.sendHighWaterBytes) {
        const oldest = inFlight.shift()!;
        await oldest.done;
        inFlightBytes -= oldest.bytes;
      }
    }
    issued();
    await Promise.all(inFlight.map((entry) => entry.done));
  }

  /** The assembler for frames routed `route` that arrived on `from`'s connection (undefined: the relay's). */
  private assemblerFor(route: number, from: number | undefined): MessageAssembler {
    if (from !== undefined && route !== from) throw new Error(`frame claims to come from rank ${route}`);
    this.checkPeer(route, 'receive from');
    return this.assemblers[route]!;
  }

  /** A failed write rejects with the peer's failure, which names the cause better than the socket. */
  private whileConnected(peer: number, write: Promise<void>): Promise<void> {
    return write.catch((error: unknown) => {
      throw this.inbox.failureOf(peer) ?? this.closedWith ?? systemError(`rank ${this.rank}: send to peer ${peer} failed`, error);
    });
  }

  private sendToSelf(header: Header, payload: Uint8Array): void {
    this.dispatch({ from: this.rank, header, payload: payload.slice() });
  }

  private dispatch(message: Message): void {
    if (message.header.signature.kind !== 'control') return this.inbox.deliver(message);
    for (const listener of this.controlListeners) {
      try {
        listener(message);
      } catch (error) {
        this.log.warn(`control listener threw: ${(error as Error).message}`);
      }
    }
  }

  /** Receive backpressure: stop reading from a peer whose unclaimed messages pile up, unless
   * someone is waiting on it (its awaited message may be behind the pile). */
  private applyReceivePressure(peer: number): void {
    const channel = this.channels.get(peer);
    if (!channel) return;
    const shouldPause = this.inbox.queuedBytes(peer) > this.limits.receiveHighWaterBytes && !this.inbox.hasWaiters(peer);
    if (shouldPause === this.paused.has(peer)) return;
    if (shouldPause) {
      this.paused.add(peer);
      channel.pauseReading();
    } else {
      this.paused.delete(peer);
      channel.resumeReading();
    }
  }

  private checkPeer(peer: number, what: string): void {
    if (!Number.isInteger(peer) || peer < 0 || peer >= this.size) throw invalidArgument(`rank ${this.rank}: cannot ${what} peer ${peer}: not a rank of a world of ${this.size}`);
  }
}

interface ListedLanding {
  readonly header: Header;
  readonly landing: Landing;
}

/** Where the landing for `header`'s message (its comm, seq and chunk) is listed; -1: none is. */
function indexOfLanding(listed: readonly ListedLanding[], header: Header): number {
  for (let i = 0; i < listed.length; i++) {
    const other = listed[i]!.header;
    if (other.seq === header.seq && other.chunk === header.chunk && other.comm === header.comm) return i;
  }
  return -1;
}

/** Takes listed[at] out (the last one moves into its place; order does not matter); at -1: nothing. */
function removeLanding(listed: ListedLanding[], at: number): void {
  if (at < 0) return;
  const last = listed.pop()!;
  if (at < listed.length) listed[at] = last;
}
