// Reads a tcp mesh connection's records (text records and frames) with net.Socket's `onread`
// option: the kernel writes into whatever buffer nextBuffer() returns. Between records that is
// a small staging buffer, which may hold several small records from one read; once a frame's
// header has been parsed, it is the rest of that frame's payload inside the message being
// assembled, so a large payload is copied exactly once: from the kernel into its message.
import { HEADER_BYTES } from '../frame.js';
import type { RecordSink, StreamReader } from '../mesh/record-sink.js';
import { MAX_TEXT_BYTES, TEXT_HEAD_BYTES, TEXT_MAGIC } from './text-record.js';

/**
 * Staging room for records between payloads: a text record fits whole. Bytes of a large payload
 * that arrive in the same read as its header are copied out of it, so it is kept small.
 */
const STAGING_BYTES = 8 * 1024;

export class RecordReader implements StreamReader {
  sink: RecordSink | undefined;
  private readonly staging = new Uint8Array(STAGING_BYTES);
  /** Unparsed bytes are staging[start, end). */
  private start = 0;
  private end = 0;
  /** The payload being read straight into its message, and how much of it has arrived. */
  private payload: Uint8Array | undefined;
  private payloadFilled = 0;
  private stopped = false;

  /** onread's `buffer`: where the next read goes (never empty). */
  nextBuffer(): Uint8Array {
    if (this.payload) return this.payload.subarray(this.payloadFilled);
    // Once stopped, reads land in staging and are ignored until the socket closes.
    return this.stopped ? this.staging : this.staging.subarray(this.end);
  }

  /** onread's `callback`: `bytes` were written into the last buffer nextBuffer() returned. */
  arrived(bytes: number): void {
    if (this.stopped) return;
    if (this.payload) {
      this.payloadFilled += bytes;
      if (this.payloadFilled < this.payload.byteLength) return;
      this.payload = undefined;
      this.sink!.framePayload();
    } else {
      this.end += bytes;
    }
    this.parse();
  }

  /** Ignores everything from now on (a refused or untrusted connection). */
  stop(): void {
    this.stopped = true;
    this.payload = undefined;
  }

  private parse(): void {
    const view = new DataView(this.staging.buffer);
    while (!this.stopped && !this.payload) {
      const available = this.end - this.start;
      if (available >= 4 && view.getUint32(this.start, true) === TEXT_MAGIC) {
        if (available < TEXT_HEAD_BYTES) break;
        const length = view.getUint32(this.start + 4, true);
        if (length > MAX_TEXT_BYTES) {
          this.stop();
          this.sink!.garbage(`a ${length}-byte text record exceeds ${MAX_TEXT_BYTES} bytes`);
          return;
        }
        if (available < TEXT_HEAD_BYTES + length) break;
        const body = this.staging.subarray(this.start + TEXT_HEAD_BYTES, this.start + TEXT_HEAD_BYTES + length);
        this.start += TEXT_HEAD_BYTES + length;
        this.sink!.text(new TextDecoder().decode(body));
        continue;
      }
      // Anything else must be a frame; its decoder judges the magic.
      if (available < HEADER_BYTES) break;
      const into = this.sink!.frameHead(this.staging.subarray(this.start, this.start + HEADER_BYTES));
      this.start += HEADER_BYTES;
      if (!into) {
        this.stop();
        return;
      }
      const staged = Math.min(into.byteLength, this.end - this.start);
      into.set(this.staging.subarray(this.start, this.start + staged));
      this.start += staged;
      if (staged === into.byteLength) {
        this.sink!.framePayload();
      } else {
        this.payload = into;
        this.payloadFilled = staged;
      }
    }
    // Keep the unparsed tail (less than one record) at the front, so the next read has room.
    this.staging.copyWithin(0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
  }
}
