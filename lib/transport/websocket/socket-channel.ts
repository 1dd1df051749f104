// The relay connection as a frame channel, over any WebSocket with the browser's API. The
// browser's send() takes one buffer and offers no completion callback, so a frame is copied into
// one buffer (the caller's payload is free at once) and write() resolves once the socket's
// bufferedAmount is back under the high-water mark: that is the backpressure a page can have.
import { systemError } from '../../errors.js';
import { HEADER_BYTES } from '../frame.js';
import { WEB_SOCKET_OPEN, type WebSocketLike } from '../handshake/web-socket-like.js';
import type { FrameChannel } from '../framed/frame-channel.js';

const MAX_POLL_MS = 8;

export class SocketChannel implements FrameChannel {
  constructor(private readonly socket: WebSocketLike, private readonly rank: number, private readonly highWaterBytes: number) {}

  async write(header: Uint8Array, segment: Uint8Array): Promise<void> {
    this.checkOpen();
    const frame = new Uint8Array(HEADER_BYTES + segment.byteLength);
    frame.set(header);
    frame.set(segment, HEADER_BYTES);
    this.socket.send(frame);
    for (let pollMs = 1; this.socket.bufferedAmount > this.highWaterBytes; pollMs = Math.min(2 * pollMs, MAX_POLL_MS)) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      this.checkOpen();
    }
  }

  /** A browser WebSocket cannot stop reading; the relay server holds senders back instead. */
  pauseReading(): void {}

  resumeReading(): void {}

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  private checkOpen(): void {
    if (this.socket.readyState !== WEB_SOCKET_OPEN) throw systemError(`rank ${this.rank}: the relay connection is not open`);
  }
}
