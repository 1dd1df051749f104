// One rank's connection to the relay (relay-hub.ts), as the hub drives it, whatever carries it:
// a `ws` socket (relay-ws-member.ts: wss://, and clients of the server's root path) or the
// server's own reader on the raw socket (relay-stream.ts: ws:// clients of RELAY_PATH, whose
// payloads are read straight into pooled memory and written on from there).

export interface RelayMember {
  /**
   * Sends one webccl frame as one binary message, its bytes `parts` in order; `done` once the
   * socket has taken them (with an error where it could not), when their memory may be reused.
   */
  sendFrame(parts: readonly Uint8Array[], done: (error?: Error) => void): void;
  /** Sends a text message (a notice: relay-notice.ts). */
  sendText(text: string): void;
  /** Says goodbye with `code` and `reason`, then ends the connection. */
  close(code: number, reason: string): void;
  /** Stops reading from the member (it sends faster than a receiver takes), until resumeReading. */
  pauseReading(): void;
  resumeReading(): void;
  readonly readingPaused: boolean;
}

/** What a member's connection reports to the hub once it has a seat (RelayHub.join). */
export interface RelaySeat {
  /** A whole message from the member (`ws` hands over each message in one buffer). */
  message(data: Uint8Array, isBinary: boolean): void;
  /**
   * A frame's 56-byte header from the member's stream, before its payload: the memory its
   * payload is to be read into, or undefined where the header is garbage (the member is then
   * cut off). `head` is the reader's: it is copied before it is kept.
   */
  frameHead(head: Uint8Array): Uint8Array | undefined;
  /** The payload of the last frameHead is in: it goes on to its destination. */
  framePayload(): void;
  /** The member broke the protocol (its connection is being closed). */
  garbage(detail: string): void;
  /** The member's connection is gone (its close code and reason, 1006 where it gave none). */
  left(code: number, reason: string): void;
}
