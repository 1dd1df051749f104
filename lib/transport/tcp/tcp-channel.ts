// A tcp mesh connection to one peer, after its handshake. Sending: a frame's header and payload
// go out corked, as one writev, straight from the caller's memory; write() resolves on the
// socket's write callback, when the kernel has the bytes and the caller may reuse them.
// Receiving: the connection's RecordReader feeds frames to the transport (payloads straight into
// their messages) and notes the peer's goodbye, which tells a close from a loss.
import type { Socket } from 'node:net';
import { systemError } from '../../errors.js';
import type { FrameChannel } from '../framed/frame-channel.js';
import type { FramedTransport } from '../framed/framed-transport.js';
import { PendingWrites } from '../framed/pending-writes.js';
import { endPolitely } from '../mesh/end-politely.js';
import type { RecordReader } from './record-reader.js';
import { encodeTextRecord, parseClosing } from './text-record.js';

/** What WebSocket calls an abnormal closure: the connection ended without a close code. */
const CLOSED_WITHOUT_GOODBYE = 1006;

export class TcpChannel implements FrameChannel {
  private readonly pending = new PendingWrites();
  private goodbye: { code: number; reason: string } | undefined;
  private lastError: Error | undefined;
  private readonly rank: number;

  constructor(private readonly socket: Socket, reader: RecordReader, private readonly peer: number, transport: FramedTransport) {
    this.rank = transport.rank;
    reader.sink = {
      text: (text) => {
        const goodbye = parseClosing(text, 'bye');
        if (goodbye) this.goodbye = goodbye;
        else transport.untrusted(peer, new Error('a text record after the handshake that is not a goodbye'));
      },
      frameHead: (head) => transport.receiveFrameHead(head, peer),
      framePayload: () => transport.receivePayload(peer),
      garbage: (detail) => transport.untrusted(peer, new Error(detail)),
    };
    socket.on('error', (error) => { this.lastError = error; });
    socket.on('close', () => {
      this.pending.failAll(systemError(`rank ${transport.rank}: connection to peer ${peer} closed with a send in flight`));
      const { code, reason } = this.goodbye ?? { code: CLOSED_WITHOUT_GOODBYE, reason: this.lastError?.message ?? 'ended without a goodbye' };
      transport.connectionLost(peer, code, reason);
    });
  }

  write(header: Uint8Array, segment: Uint8Array): Promise<void> {
    if (this.socket.destroyed || this.socket.writableEnded) return Promise.reject(systemError(`rank ${this.rank}: connection to peer ${this.peer} is not open`));
    return this.pending.start((done) => {
      // Corked, the two buffers leave in one writev; the socket writes in order, so the last
      // buffer's callback means both were written.
      this.socket.cork();
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
    endPolitely(this.socket, encodeTextRecord(JSON.stringify({ t: 'bye', code, reason })));
  }
}
