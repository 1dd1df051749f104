// How the websocket mesh lays frames onto WebSocket messages. A small frame is one message
// (header and payload copied together: one socket write, one receive event). A large payload is
// sent as its own message right after a message holding the header alone, so that it is never
// copied to sit behind the header, and the receiver never joins fragments (ws concatenates the
// fragments of a message into a new buffer). Either way no byte is copied twice.
import { HEADER_BYTES, readSegmentBytes } from '../frame.js';

/** Payloads from this size on travel as a message of their own. */
export const SPLIT_PAYLOAD_BYTES = 32 * 1024;

/** The messages that carry one frame, in order. */
export function frameMessages(header: Uint8Array, segment: Uint8Array): Uint8Array[] {
  if (segment.byteLength >= SPLIT_PAYLOAD_BYTES) return [header, segment];
  const joined = new Uint8Array(HEADER_BYTES + segment.byteLength);
  joined.set(header);
  joined.set(segment, HEADER_BYTES);
  return [joined];
}

/** A frame as it arrived: whole in `bytes`, or its header in `bytes` and its payload apart. */
export interface ArrivedFrame {
  readonly bytes: Uint8Array;
  readonly payload?: Uint8Array;
}

/**
 * Turns one connection's messages back into frames. A message of exactly a header that
 * declares payload bytes is held until the next message, which must be that payload (the
 * decoder checks its length); any other message is a whole frame. Malformed input is left to
 * the decoder, which rejects it.
 */
export class SplitFrameReader {
  private head: Uint8Array | undefined;

  accept(bytes: Uint8Array): ArrivedFrame | undefined {
    const head = this.head;
    if (head) {
      this.head = undefined;
      return { bytes: head, payload: bytes };
    }
    if (bytes.byteLength === HEADER_BYTES && readSegmentBytes(bytes) > 0) {
      this.head = bytes;
      return undefined;
    }
    return { bytes };
  }
}
