// A websocket mesh connection to one peer, after its handshake. Sending: each webccl frame is
// one binary message, its WebSocket header, webccl header and payload corked into one writev
// straight from the caller's memory; write() resolves on the socket's write callback, when the
// kernel has the bytes and the caller may reuse them. Receiving: the connection's
// WebSocketReader feeds frames to the transport (payloads straight into their messages),
// answers pings, and notes the peer's close frame, which tells a close from a loss.
import type { Socket } from 'node:net';
import { systemError } from '../../errors.js';
import { HEADER_BYTES } from '../frame.js';
import type { FrameChannel } from '../framed/frame-channel.js';
import type { FramedTransport } from '../framed/framed-transport.js';
import { PendingWrites } from '../framed/pending-writes.js';
import { endPolitely } from '../mesh/end-politely.js';
import { CLOSE_NO_STATUS, closePayload, frameHeader, OPCODE, wholeFrame } from './rfc6455.js';
import type { WebSocketReader } from './ws-reader.js';

/** What WebSocket calls an abnormal closure: the connection ended without a close frame. */
const CLOSED_WITHOUT_CLOSE_FRAME = 1006;

export class WebSocketChannel implements FrameChannel {
  private readonly pending = new PendingWrites();
  private closeFrame: { code: number; reason: string } | undefined;
  private lastError: Error | undefined;
  private readonly rank: number;

  /** `masked`: this side dialled, and a client's frames carry a mask (rfc6455.ts, frameHeader). */
  constructor(private readonly socket: Socket, reader: WebSocketReader, private readonly peer: number, transport: FramedTransport, private readonly masked: boolean) {
    this.rank = transport.rank;
    reader.sink = {
      text: () => transport.untrusted(peer, new Error('a text message after the handshake')),
      frameHead: (head) => transport.receiveFrameHead(head, peer),
      framePayload: () => transport.receivePayload(peer),
      garbage: (detail) => transport.untrusted(peer, new Error(detail)),
      ping: (payload) => {
        if (!socket.destroyed && !socket.writableEnded) socket.write(wholeFrame(OPCODE.pong, payload, masked));
      },
      closing: (code, reason) => {
        // The peer closes: answer in kind (section 5.5.1) and end our side.
        this.closeFrame = { code, reason };
        this.endWith(code === CLOSE_NO_STATUS ? undefined : code, '');
      },
    };
    socket.on('error', (error) => { this.lastError = error; });
    socket.on('close', () => {
      this.pending.failAll(systemError(`rank ${transport.rank}: connection to peer ${peer} closed with a send in flight`));
      const { code, reason } = this.closeFrame ?? { code: CLOSED_WITHOUT_CLOSE_FRAME, reason: this.lastError?.message ?? 'ended without a close frame' };
      transport.connectionLost(peer, code, reason);
    });
  }

  write(header: Uint8Array, segment: Uint8Array): Promise<void> {
    if (this.socket.destroyed || this.socket.writableEnded) return Promise.reject(systemError(`rank ${this.rank}: connection to peer ${this.peer} is not open`));
    return this.pending.start((done) => {
      // Corked, the buffers leave in one writev; the socket writes in order, so the last
      // buffer's callback means all were written.
      this.socket.cork();
      this.socket.write(frameHeader(OPCODE.binary, HEADER_BYTES + segment.byteLength, this.masked));
      if (segment.byteLength === 0) {
        this.socket.write(header, done);
      } else {
        this.socket.write(header);
        this.socket.write(segment, done);
      }
      this.socket.uncork();
    });
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  close(code: number, reason: string): void {
    this.endWith(code, reason);
  }

  /** Sends a close frame (with no code: an empty one) and ends the connection. */
  private endWith(code: number | undefined, reason: string): void {
    endPolitely(this.socket, wholeFrame(OPCODE.close, code === undefined ? new Uint8Array(0) : closePayload(code, reason), this.masked));
  }
}
