// A mesh connection to one peer over a `ws` WebSocket (Node). A frame goes out as the messages
// of split-frames.ts: large payloads are handed to ws as they are (never copied here; frames are
// unmasked, see mesh-web-socket.ts), and ws holds on to the caller's buffer until the socket has
// written it, which is why write() resolves only then.
import type { WebSocket } from 'ws';
import { systemError } from '../../errors.js';
import type { FrameChannel } from '../framed/frame-channel.js';
import { PendingWrites } from '../framed/pending-writes.js';
import { frameMessages } from './split-frames.js';

/** What the channel reports to: FramedTransport. */
export interface ChannelSink {
  readonly rank: number;
  peerFailed(peer: number, error: Error): void;
}

export class WsChannel implements FrameChannel {
  private readonly pending = new PendingWrites();
  private readonly rank: number;

  constructor(private readonly socket: WebSocket, private readonly peer: number, sink: ChannelSink) {
    this.rank = sink.rank;
    // ws reports protocol violations (e.g. a message over maxPayload) here, then closes.
    socket.on('error', (error) => sink.peerFailed(peer, systemError(`rank ${sink.rank}: connection to peer ${peer} failed: ${error.message}`, error)));
    socket.on('close', (code) => {
      this.pending.failAll(systemError(`rank ${sink.rank}: connection to peer ${peer} closed (${code}) with a send in flight`));
    });
  }

  write(header: Uint8Array, segment: Uint8Array): Promise<void> {
    if (this.socket.readyState !== this.socket.OPEN) return Promise.reject(systemError(`rank ${this.rank}: connection to peer ${this.peer} is not open`));
    return this.pending.start((done) => {
      const messages = frameMessages(header, segment);
      const last = messages.length - 1;
      // ws writes in order, so the last message's callback means all of them were written.
      messages.forEach((message, i) => this.socket.send(message, { binary: true }, i === last ? done : undefined));
    });
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }
}
