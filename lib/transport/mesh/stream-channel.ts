// What the two stream meshes' channels (tcp/tcp-channel.ts, websocket/web-socket-channel.ts)
// share once a connection is admitted (a Node rank's relay connection is a websocket one whose
// frames reach every peer: `peer` undefined). Sending: a frame's bytes (the protocol's own header, if
// any, then webccl's header and the payload) go out corked, as one writev, straight from the
// caller's memory; write() resolves on the socket's write callback, when the kernel has the
// bytes and the caller may reuse them. Closing: a last goodbye in the protocol's form, then the
// end. Losing: the socket's close reports the peer's goodbye if one came (a close), else 1006
// (a loss), to the transport.
import type { Socket } from 'node:net';
import { systemError } from '../../errors.js';
import type { FrameChannel } from '../framed/frame-channel.js';
import type { FramedTransport } from '../framed/framed-transport.js';
import { PendingWrites } from '../framed/pending-writes.js';
import { endPolitely } from './end-politely.js';

/** What WebSocket calls an abnormal closure: the connection ended without a goodbye. */
const CLOSED_WITHOUT_GOODBYE = 1006;

export abstract class StreamChannel implements FrameChannel {
  private readonly pending = new PendingWrites();
  private goodbye: { code: number; reason: string } | undefined;
  private lastError: Error | undefined;
  /** Names the connection in errors: 'connection to peer 3', 'relay connection'. */
  private readonly name: string;

  /** `peer`: the one peer the connection reaches, undefined for the relay's (every peer). */
  constructor(protected readonly socket: Socket, peer: number | undefined, transport: FramedTransport) {
    this.name = `rank ${transport.rank}: ${peer === undefined ? 'relay connection' : `connection to peer ${peer}`}`;
    socket.on('error', (error) => { this.lastError = error; });
    socket.on('close', () => {
      this.pending.failAll(systemError(`${this.name} closed with a send in flight`));
      const { code, reason } = this.goodbye ?? { code: CLOSED_WITHOUT_GOODBYE, reason: this.lastError?.message ?? 'ended without a goodbye' };
      if (peer !== undefined) return transport.connectionLost(peer, code, reason);
      transport.everyPeerFailed(systemError(`${this.name} closed (${code}${reason ? `: ${reason}` : ''})`));
    });
  }

  write(header: Uint8Array, segment: Uint8Array): Promise<void> {
    if (this.socket.destroyed || this.socket.writableEnded) return Promise.reject(systemError(`${this.name} is not open`));
    return this.pending.start((done) => {
      // The socket writes in order, so the last buffer's callback means all were written.
      this.socket.cork();
      const prefix = this.framePrefix(header.byteLength + segment.byteLength);
      if (prefix) this.socket.write(prefix);
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

  /** Says the protocol's goodbye (code undefined: one without a code) and ends the connection. */
  protected endWith(code: number | undefined, reason: string): void {
    endPolitely(this.socket, this.goodbyeBytes(code, reason));
  }

  /** The peer said goodbye (a close, not a loss) with this code and reason. */
  protected heardGoodbye(code: number, reason: string): void {
    this.goodbye = { code, reason };
  }

  /** The protocol's bytes ahead of a webccl frame of `frameBytes` (none: undefined). */
  protected abstract framePrefix(frameBytes: number): Uint8Array | undefined;

  /** The protocol's last words on a close (code undefined: none to give). */
  protected abstract goodbyeBytes(code: number | undefined, reason: string): Uint8Array;
}
