// A received payload is checked against the size the call expects before it touches memory.
// The size is stated by the schedule (element count), never inferred from the payload: a payload
// of the wrong length (a peer whose call, dtype or codec differs, or a damaged message) would
// otherwise be folded as fewer elements, and an empty one as none, silently.
import type { DataType } from '../dtype.js';
import { remoteError } from '../errors.js';
import { NO_CODEC, type Codec } from './codec.js';

/** Throws unless `bytes` holds exactly `count` elements of `dtype` as `codec` encodes them. */
export function checkPayload(bytes: Uint8Array, count: number, dtype: DataType, codec: Codec = NO_CODEC): void {
  const expected = codec.encodedBytes(count, dtype);
  if (bytes.byteLength === expected) return;
  throw remoteError(
    `a peer sent ${bytes.byteLength} bytes where ${count} ${dtype} elements (${expected} bytes) were expected:`
    + ' the sending rank encoded other data than this call (its count, dtype or codec differs, or the message was damaged on the way)',
  );
}
