// Reads one websocket mesh connection with net.Socket's `onread` option, as record-reader.ts
// reads a tcp one: the kernel writes into whatever buffer nextBuffer() returns. First the
// opening handshake's HTTP head, then RFC 6455 frames. Text messages (the hello, the welcome)
// and binary messages (webccl frames, lib/transport/frame.ts) go to a RecordSink: a binary
// message is a whole webccl frame, or its 56-byte header alone followed by a message that is
// exactly its payload (how the `ws`-based mesh sent large payloads; this one sends whole frames).
// Once a frame's header has been parsed, the rest of its payload is read straight into the
// message being assembled: copied once, from the kernel into its place. Everything else (frame
// headers, text, control frames) passes through a small staging buffer.
// Anything that breaks the protocol (reserved bits or opcodes, a client frame without a mask, a
// fragmented control frame, a data frame over the payload limit, invalid UTF-8, a bad close
// code, a message that does not hold exactly one webccl frame) stops reading: sink.garbage.
import { HEADER_BYTES } from '../frame.js';
import type { RecordSink, StreamReader } from '../mesh/record-sink.js';
import { CLOSE_NO_STATUS, isValidCloseCode, MAX_CONTROL_PAYLOAD, OPCODE } from './rfc6455.js';
import { unmaskInPlace } from './unmask.js';

/** What a websocket connection's frames go to, besides a tcp connection's records. */
export interface WebSocketSink extends RecordSink {
  /** The peer's close frame (CLOSE_NO_STATUS when it carried no code): it sends nothing more. */
  closing(code: number, reason: string): void;
  /** A ping's payload, which a pong must echo. */
  ping(payload: Uint8Array): void;
}

export interface WebSocketReaderOptions {
  /** 'server': the peer's frames must be masked (section 5.1); 'client': they must not be. */
  readonly role: 'server' | 'client';
  /**
   * The HTTP head that opens the connection (the request, or the response), without its blank
   * line: true to go on reading frames, false to stop reading (absent: afterHandshake).
   */
  readonly head?: (text: string) => boolean;
  /** The most bytes one binary message may carry (a webccl frame, header included). */
  readonly maxFramePayload: number;
  /**
   * The opening handshake is done already (Node's http server read the request and `head`
   * is not called): the first bytes are frames.
   */
  readonly afterHandshake?: boolean;
}

/**
 * Staging room for everything but payloads: an HTTP head fits whole, and a text message (a hello
 * is a few hundred bytes) at most MAX_TEXT_BYTES.
 */
const STAGING_BYTES = 8 * 1024;
const MAX_TEXT_BYTES = 4096;
/** Text messages and close reasons must be valid UTF-8 (section 8.1): decoding throws where they are not. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

export class WebSocketReader implements StreamReader {
  sink: WebSocketSink | undefined;
  private readonly staging = new Uint8Array(STAGING_BYTES);
  /** Unparsed bytes are staging[start, end). */
  private start = 0;
  private end = 0;
  private stopped = false;
  private inHead = true;
  private headAccepted = false;

  // The frame being read: its payload bytes still to come, its opcode, FIN bit and mask key.
  private frameLeft = 0;
  private opcode = 0;
  private fin = false;
  private mask: Uint8Array | undefined;
  private maskOffset = 0;
  private readonly control = new Uint8Array(MAX_CONTROL_PAYLOAD);
  private controlFilled = 0;

  // The message being read: text or binary, and its bytes so far.
  private message: 'text' | 'binary' | undefined;
  private messageBytes = 0;
  private readonly text = new Uint8Array(MAX_TEXT_BYTES);

  // The webccl frame being read from binary messages: its header, then its payload (`into`).
  private readonly head = new Uint8Array(HEADER_BYTES);
  private headFilled = 0;
  private into: Uint8Array | undefined;
  private intoFilled = 0;
  /** The frame's payload ended: its message must end too. */
  private frameDone = false;
  /** A message held a header alone: the next binary message is its payload, exactly. */
  private payloadNext = false;
  /** The current message is such a payload. */
  private payloadMessage = false;
  /** The last nextBuffer() was a view into `into`, not staging. */
  private direct = false;

  constructor(private readonly options: WebSocketReaderOptions) {
    if (options.afterHandshake) {
      this.inHead = false;
      this.headAccepted = true;
    }
  }

  /** Whether the opening handshake's head came and was accepted: the connection speaks WebSocket. */
  get upgraded(): boolean {
    return this.headAccepted;
  }

  /** onread's `buffer`: where the next read goes (never empty). */
  nextBuffer(): Uint8Array {
    this.direct = !this.stopped && this.into !== undefined && this.frameLeft > 0 && this.start === this.end && this.message === 'binary' && this.opcode <= OPCODE.binary;
    if (this.direct) return this.into!.subarray(this.intoFilled, this.intoFilled + Math.min(this.frameLeft, this.into!.byteLength - this.intoFilled));
    return this.stopped ? this.staging : this.staging.subarray(this.end);
  }

  /** onread's `callback`: `bytes` were written into the last buffer nextBuffer() returned. */
  arrived(bytes: number): void {
    if (this.stopped) return;
    if (this.direct) {
      // Under the all-zero key the mesh sends with there is nothing to unmask (no view to make).
      if (this.mask) this.unmask(this.into!.subarray(this.intoFilled, this.intoFilled + bytes));
      this.frameLeft -= bytes;
      this.messageBytes += bytes;
      this.intoFilled += bytes;
      if (this.intoFilled === this.into!.byteLength) this.payloadEnded();
      if (!this.stopped && this.frameLeft === 0) this.frameEnded();
    } else {
      this.end += bytes;
    }
    this.parse();
  }

  /** Ignores everything from now on (a refused, closed or untrusted connection). */
  stop(): void {
    this.stopped = true;
    this.into = undefined;
  }

  private parse(): void {
    while (!this.stopped) {
      if (this.inHead) {
        if (!this.parseHead()) break;
      } else if (this.frameLeft === 0) {
        if (!this.parseFrameHeader()) break;
      } else {
        const count = Math.min(this.frameLeft, this.end - this.start);
        if (count === 0) break;
        const bytes = this.staging.subarray(this.start, this.start + count);
        this.start += count;
        this.unmask(bytes);
        this.frameLeft -= count;
        this.payloadBytes(bytes);
        if (!this.stopped && this.frameLeft === 0) this.frameEnded();
      }
    }
    // Keep the unparsed tail (less than one header) at the front, so the next read has room.
    this.staging.copyWithin(0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
  }

  /** The HTTP head, once its blank line is in: false while it is not. */
  private parseHead(): boolean {
    const staged = this.staging.subarray(this.start, this.end);
    const blank = Buffer.from(staged.buffer, staged.byteOffset, staged.byteLength).indexOf('\r\n\r\n');
    if (blank < 0) {
      if (this.end === STAGING_BYTES) this.garbage(`an HTTP head of more than ${STAGING_BYTES} bytes`);
      return false;
    }
    const text = new TextDecoder('latin1').decode(staged.subarray(0, blank));
    this.start += blank + 4;
    this.inHead = false;
    this.headAccepted = this.options.head?.(text) ?? false;
    if (!this.headAccepted) this.stop();
    return true;
  }

  /** A frame's header, once it is all in: false while it is not. */
  private parseFrameHeader(): boolean {
    const available = this.end - this.start;
    if (available < 2) return false;
    const first = this.staging[this.start]!;
    const second = this.staging[this.start + 1]!;
    const masked = (second & 0x80) !== 0;
    const short = second & 0x7f;
    const size = 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + (masked ? 4 : 0);
    if (available < size) return false;
    const view = new DataView(this.staging.buffer, this.start);
    const length = short === 126 ? view.getUint16(2) : short === 127 ? Number(view.getBigUint64(2)) : short;
    const maskAt = this.start + size - 4;
    this.start += size;
    this.fin = (first & 0x80) !== 0;
    this.opcode = first & 0x0f;
    this.mask = masked && (this.staging[maskAt]! | this.staging[maskAt + 1]! | this.staging[maskAt + 2]! | this.staging[maskAt + 3]!) !== 0
      ? this.staging.slice(maskAt, maskAt + 4) : undefined;
    this.maskOffset = 0;
    this.frameLeft = length;
    const problem = (first & 0x70) !== 0 ? 'a frame with reserved bits set'
      : masked !== (this.options.role === 'server') ? (masked ? 'a masked frame from the server' : 'an unmasked frame from the client')
      : this.frameStarted(length);
    if (problem) {
      this.garbage(problem);
      return true;
    }
    if (length === 0) this.frameEnded();
    return true;
  }

  /** Checks a frame against the message it starts or continues: undefined, or what is wrong. */
  private frameStarted(length: number): string | undefined {
    const opcode = this.opcode;
    if (opcode >= OPCODE.close) {
      if (opcode > OPCODE.pong) return `a frame of reserved opcode ${opcode}`;
      if (!this.fin) return 'a fragmented control frame';
      if (length > MAX_CONTROL_PAYLOAD) return `a control frame of ${length} bytes`;
      this.controlFilled = 0;
      return undefined;
    }
    if (opcode === OPCODE.continuation) {
      if (this.message === undefined) return 'a continuation frame with no message to continue';
    } else if (opcode === OPCODE.text || opcode === OPCODE.binary) {
      if (this.message !== undefined) return 'a new message inside a fragmented one';
      this.message = opcode === OPCODE.text ? 'text' : 'binary';
      this.messageBytes = 0;
      if (this.message === 'text' && this.payloadNext) return 'a text message where a frame\'s payload was due';
      this.payloadMessage = this.payloadNext;
      this.payloadNext = false;
    } else {
      return `a frame of reserved opcode ${opcode}`;
    }
    const limit = this.message === 'text' ? MAX_TEXT_BYTES : this.options.maxFramePayload;
    if (length > limit - this.messageBytes) return `a ${this.message} message of more than ${limit} bytes`;
    return undefined;
  }

  /** Payload bytes of the current frame, unmasked, that came through staging. */
  private payloadBytes(bytes: Uint8Array): void {
    if (this.opcode >= OPCODE.close) {
      this.control.set(bytes, this.controlFilled);
      this.controlFilled += bytes.byteLength;
      return;
    }
    const at = this.messageBytes;
    this.messageBytes += bytes.byteLength;
    if (this.message === 'text') this.text.set(bytes, at);
    else this.binaryBytes(bytes);
  }

  /** Bytes of a binary message: a webccl frame's header, then its payload into `into`. */
  private binaryBytes(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.byteLength && !this.stopped) {
      if (this.into) {
        const count = Math.min(this.into.byteLength - this.intoFilled, bytes.byteLength - at);
        this.into.set(bytes.subarray(at, at + count), this.intoFilled);
        this.intoFilled += count;
        at += count;
        if (this.intoFilled === this.into.byteLength) this.payloadEnded();
      } else if (this.frameDone || this.payloadMessage) {
        return this.garbage('a binary message that holds more than one frame');
      } else {
        const count = Math.min(HEADER_BYTES - this.headFilled, bytes.byteLength - at);
        this.head.set(bytes.subarray(at, at + count), this.headFilled);
        this.headFilled += count;
        at += count;
        if (this.headFilled === HEADER_BYTES) {
          const into = this.sink!.frameHead(this.head);
          if (!into) return this.stop();
          this.into = into;
          this.intoFilled = 0;
          if (into.byteLength === 0) this.payloadEnded();
        }
      }
    }
  }

  private payloadEnded(): void {
    this.into = undefined;
    this.frameDone = true;
    this.sink!.framePayload();
  }

  /** The current frame's payload is all in. */
  private frameEnded(): void {
    if (this.opcode >= OPCODE.close) return this.controlEnded();
    if (this.fin) this.messageEnded();
  }

  private messageEnded(): void {
    const kind = this.message;
    this.message = undefined;
    if (kind === 'text') {
      let text: string;
      try {
        text = STRICT_UTF8.decode(this.text.subarray(0, this.messageBytes));
      } catch {
        return this.garbage('a text message of invalid UTF-8');
      }
      return this.sink!.text(text);
    }
    const done = this.frameDone;
    const payloadMessage = this.payloadMessage;
    this.frameDone = false;
    this.payloadMessage = false;
    if (done) {
      this.headFilled = 0;
      return;
    }
    // A header alone, whose payload is the next message's (never a payload message's own end).
    if (this.into && !payloadMessage && this.messageBytes === HEADER_BYTES) {
      this.payloadNext = true;
      this.headFilled = 0;
      return;
    }
    this.garbage(this.into
      ? `a binary message that ends after ${this.intoFilled} of its frame's ${this.into.byteLength} payload bytes`
      : `a binary message of ${this.messageBytes} bytes, shorter than a frame header`);
  }

  private controlEnded(): void {
    const payload = this.control.subarray(0, this.controlFilled);
    if (this.opcode === OPCODE.ping) return this.sink!.ping(payload.slice());
    if (this.opcode !== OPCODE.close) return; // a pong: nothing to do
    if (payload.byteLength === 0) {
      this.stop();
      return this.sink!.closing(CLOSE_NO_STATUS, '');
    }
    const code = payload.byteLength >= 2 ? (payload[0]! << 8) | payload[1]! : 0;
    let reason: string;
    try {
      reason = STRICT_UTF8.decode(payload.subarray(2));
    } catch {
      return this.garbage('a close frame whose reason is invalid UTF-8');
    }
    if (!isValidCloseCode(code)) return this.garbage(`a close frame with invalid code ${code}`);
    this.stop();
    this.sink!.closing(code, reason);
  }

  /** Unmasks payload bytes in place (nothing to do under the all-zero key the mesh sends with). */
  private unmask(bytes: Uint8Array): void {
    if (this.mask) unmaskInPlace(bytes, this.mask, this.maskOffset);
    this.maskOffset += bytes.byteLength;
  }

  private garbage(detail: string): void {
    this.stop();
    this.sink!.garbage(detail);
  }
}
