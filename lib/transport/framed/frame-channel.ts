// One way of putting frames on a wire, as FramedTransport sees it: a mesh connection to one
// peer (WsChannel, TcpChannel) or the single relay connection every peer is reached through
// (SocketChannel).
import type { Landing } from '../../memory/landing.js';

export interface FrameChannel {
  /**
   * Writes one frame, given as its header and its payload segment. Resolves once both buffers
   * may be reused by the caller; rejects if the connection is gone.
   */
  write(header: Uint8Array, segment: Uint8Array): Promise<void>;
  /**
   * Writes one frame at once if the channel can without waiting (both buffers may be reused
   * when it returns true); false: nothing was written, use write(). Optional: the small path.
   */
  writeNow?(header: Uint8Array, segment: Uint8Array): boolean;
  /**
   * Payload bytes per frame for a message of `messageBytes` (absent: the limits' maxSegmentBytes).
   * A channel whose frames may be larger than its ring or socket buffers for some messages (shm
   * by reference: a frame is then only a descriptor) says so here; the receiver's limits must admit it.
   */
  segmentBytes?(messageBytes: number): number;
  /**
   * Optional: the frames of one message, each named by its header and the span of the message it
   * carries, are coming and belong to `landing` (the message's size); a channel that can put
   * their payloads there as they arrive (ntcp's expected receives) says so by returning the
   * cancel, undefined otherwise. Each frame is still handed over as usual (receiveFrameSink
   * then gives its span of `landing.target`).
   */
  expect?(frames: readonly ExpectedFrame[], landing: Landing): (() => void) | undefined;
  /** Stops reading from the connection (receive backpressure); a no-op where impossible. */
  pauseReading(): void;
  resumeReading(): void;
  /** Closes the connection with a WebSocket close code and a reason the other side will log. */
  close(code: number, reason: string): void;
}

/** One frame of a message that lands (FrameChannel.expect): its header, and where its payload goes in the message. */
export interface ExpectedFrame {
  readonly head: Uint8Array;
  readonly offset: number;
  readonly length: number;
}

/** Normal closure: the other side closed its transport on purpose. */
export const CLOSE_NORMAL = 1000;
