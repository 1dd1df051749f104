// Reassembles the segments of messages from one peer. Segments of a message arrive back to
// back with equal headers; anything else means the byte stream cannot be trusted.
//
// Two ways in: accept() takes a frame whose payload already sits in some buffer (websocket,
// relay), and reserve()/commit() let a stream reader learn where a segment's payload belongs
// before it arrives, so that the kernel writes it straight into the message (tcp).
import type { Landing } from '../../memory/landing.js';
import { frameError, type Frame, type FrameHead } from '../frame.js';
import type { Header, Message } from '../transport.js';
import type { PayloadPool } from './payload-pool.js';

interface PartialMessage {
  readonly header: Header;
  readonly payload: Uint8Array;
  /** Absent for a message that landed in the receiver's memory. */
  readonly release: (() => void) | undefined;
  /** The receiver's landing the message is written (or folded) into, if it lands. */
  readonly landing: Landing | undefined;
  received: number;
}

/** Typed-array views over a payload need its start aligned to the widest element (8 bytes). */
const ALIGNMENT = 8;

export class MessageAssembler {
  private partial: PartialMessage | undefined;
  /** The segment reserve() handed out and commit() has not yet counted. */
  private reserved = 0;

  constructor(private readonly from: number, private readonly pool: PayloadPool) {}

  /** Takes one frame; returns the message it completes, if any. Throws on inconsistency. */
  accept(frame: Frame): Message | undefined {
    // A whole message in one frame needs no assembly buffer: hand out the frame's own bytes.
    if (!this.partial && frame.offset === 0 && frame.payload.byteLength === frame.messageBytes) {
      return this.message(frame.header, ownedAligned(frame.payload));
    }
    this.reserve({ ...frame, segmentBytes: frame.payload.byteLength }).set(frame.payload);
    return this.commit();
  }

  /**
   * Where the payload of the frame `head` announces must be written: a view into its message's
   * buffer (from the pool, 8-byte aligned, or the target of `landing` when the message lands in
   * the receiver's memory; given with its first frame, it holds for the message's later frames:
   * see landing()). Throws if the frame does not continue the stream.
   */
  reserve(head: FrameHead, landing?: Landing): Uint8Array {
    if (!this.partial) {
      if (head.offset !== 0) throw frameError(`from rank ${this.from}: message starts at offset ${head.offset}, not 0`);
      // A landing (the receiver's own memory, exactly the message's size) is not the pool's: nothing to release.
      const { bytes, release }: { bytes: Uint8Array; release?: () => void } = landing ? { bytes: landing.target } : this.pool.take(head.messageBytes);
      this.partial = { header: head.header, payload: bytes, release, landing, received: 0 };
    }
    const partial = this.partial;
    if (head.offset !== partial.received) throw frameError(`from rank ${this.from}: segment at offset ${head.offset}, expected ${partial.received}`);
    if (head.messageBytes !== partial.payload.byteLength || !sameHeader(head.header, partial.header)) {
      throw frameError(`from rank ${this.from}: a segment's header differs from its message's first segment`);
    }
    this.reserved = head.segmentBytes;
    return partial.payload.subarray(head.offset, head.offset + head.segmentBytes);
  }

  /** The landing of the message being assembled (its later frames go there too), if it lands. */
  landing(): Landing | undefined {
    return this.partial?.landing;
  }

  /** The header of the message whose frames are arriving (some, not all, are here), if any. */
  assembling(): Header | undefined {
    return this.partial?.header;
  }

  /** The reserved segment has been written; returns the message it completes, if any. */
  commit(): Message | undefined {
    const partial = this.partial!;
    partial.received += this.reserved;
    this.reserved = 0;
    if (partial.received < partial.payload.byteLength) return undefined;
    this.partial = undefined;
    return { from: this.from, header: partial.header, payload: partial.payload, ...(partial.release && { release: partial.release }) };
  }

  private message(header: Header, payload: Uint8Array): Message {
    return { from: this.from, header, payload };
  }
}

/** A whole message in one frame is handed out as a view when aligned (no copy), else copied. */
function ownedAligned(payload: Uint8Array): Uint8Array {
  return payload.byteOffset % ALIGNMENT === 0 ? payload : payload.slice();
}

/** Equal headers: the same call (comm, seq, signature) and message (chunk). */
export function sameHeader(a: Header, b: Header): boolean {
  const x = a.signature;
  const y = b.signature;
  return a.comm === b.comm && a.seq === b.seq && a.chunk === b.chunk
    && x.kind === y.kind && x.count === y.count && x.dtype === y.dtype && x.op === y.op && x.root === y.root
    && (x.codec ?? 0) === (y.codec ?? 0);
}
