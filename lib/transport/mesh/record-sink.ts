// What a mesh connection's stream reader (tcp/record-reader.ts, websocket/ws-reader.ts) delivers:
// text (the hello, the welcome, the tcp mesh's goodbye) and webccl frames, whose payloads it
// reads straight into the buffers the sink gives it.

/** What the records of a connection go to (the handshake first, then the peer's channel). */
export interface RecordSink {
  text(text: string): void;
  /** A frame's header: returns the buffer its payload must be read into, or undefined to stop reading. */
  frameHead(head: Uint8Array): Uint8Array | undefined;
  /** The payload of the last frameHead has been written into the buffer it returned. */
  framePayload(): void;
  /** The stream is not made of records: reading has stopped. */
  garbage(detail: string): void;
}

/** A connection's reader as net.Socket's `onread` option drives it. */
export interface StreamReader {
  /** Where the next read goes (never empty). */
  nextBuffer(): Uint8Array;
  /** `bytes` were written into the last buffer nextBuffer() returned. */
  arrived(bytes: number): void;
  /** Ignores everything from now on (a refused, closed or untrusted connection). */
  stop(): void;
}
