// Reassembles the segments of messages from one peer. Segments of a message arrive back to
// back with equal headers; anything else means the byte stream cannot be trusted.
import { frameError, type Frame } from '../frame.js';
import type { Header, Message } from '../transport.js';

interface PartialMessage {
  readonly header: Header;
  readonly payload: Uint8Array;
  received: number;
}

/** Typed-array views over a payload need its start aligned to the widest element (8 bytes). */
const ALIGNMENT = 8;

export class MessageAssembler {
  private partial: PartialMessage | undefined;

  constructor(private readonly from: number) {}

  /** Takes one frame; returns the message it completes, if any. Throws on inconsistency. */
  accept(frame: Frame): Message | undefined {
    if (!this.partial) {
      if (frame.offset !== 0) throw frameError(`from rank ${this.from}: message starts at offset ${frame.offset}, not 0`);
      if (frame.payload.byteLength === frame.messageBytes) return this.message(frame.header, ownedAligned(frame.payload));
      this.partial = { header: frame.header, payload: new Uint8Array(frame.messageBytes), received: 0 };
    }
    const partial = this.partial;
    if (frame.offset !== partial.received) throw frameError(`from rank ${this.from}: segment at offset ${frame.offset}, expected ${partial.received}`);
    if (frame.messageBytes !== partial.payload.byteLength || !sameHeader(frame.header, partial.header)) {
      throw frameError(`from rank ${this.from}: a segment's header differs from its message's first segment`);
    }
    partial.payload.set(frame.payload, partial.received);
    partial.received += frame.payload.byteLength;
    if (partial.received < partial.payload.byteLength) return undefined;
    this.partial = undefined;
    return this.message(partial.header, partial.payload);
  }

  private message(header: Header, payload: Uint8Array): Message {
    return { from: this.from, header, payload };
  }
}

/** A whole message in one frame is handed out as a view when aligned (no copy), else copied. */
function ownedAligned(payload: Uint8Array): Uint8Array {
  return payload.byteOffset % ALIGNMENT === 0 ? payload : payload.slice();
}

function sameHeader(a: Header, b: Header): boolean {
  const x = a.signature;
  const y = b.signature;
  return a.comm === b.comm && a.seq === b.seq && a.chunk === b.chunk
    && x.kind === y.kind && x.count === y.count && x.dtype === y.dtype && x.op === y.op && x.root === y.root;
}
