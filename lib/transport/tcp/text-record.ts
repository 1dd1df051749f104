// Besides frames, a tcp mesh connection carries a few JSON text records: the hello and its
// answer (welcome, or a refusal with a close code and a reason) and, last, a goodbye with the
// close code and reason. Raw TCP has no close codes of its own, and a killed process's kernel
// ends its connections as politely as a clean close does: a connection that ends without a
// goodbye was lost, not closed.
//
// A text record is an 8-byte head, 'WCTX' as a little-endian u32 and the UTF-8 byte length as
// a u32, then the JSON. Its magic tells it apart from a frame's 'WCCL' (frame.ts).

export const TEXT_MAGIC = 0x58544357; // 'WCTX' read as a little-endian u32
export const TEXT_HEAD_BYTES = 8;
/** Hellos, refusals and goodbyes are small; a longer text record is garbage. */
export const MAX_TEXT_BYTES = 4096;

/** The answer to a hello that is not a welcome. */
export interface Refused {
  readonly t: 'refused';
  readonly code: number;
  readonly reason: string;
}

/** The last record on a connection that is being closed on purpose. */
export interface Goodbye {
  readonly t: 'bye';
  readonly code: number;
  readonly reason: string;
}

export function encodeTextRecord(text: string): Uint8Array {
  const body = new TextEncoder().encode(text);
  if (body.byteLength > MAX_TEXT_BYTES) throw new RangeError(`a ${body.byteLength}-byte text record exceeds ${MAX_TEXT_BYTES} bytes`);
  const record = new Uint8Array(TEXT_HEAD_BYTES + body.byteLength);
  const view = new DataView(record.buffer);
  view.setUint32(0, TEXT_MAGIC, true);
  view.setUint32(4, body.byteLength, true);
  record.set(body, TEXT_HEAD_BYTES);
  return record;
}

/** A refusal or goodbye from the other side, or undefined when `text` is neither. */
export function parseClosing(text: string, kind: 'refused' | 'bye'): Refused | Goodbye | undefined {
  try {
    const value = JSON.parse(text) as Partial<Refused | Goodbye> | null;
    if (value?.t !== kind || !Number.isInteger(value.code) || typeof value.reason !== 'string') return undefined;
    return value as Refused | Goodbye;
  } catch {
    return undefined;
  }
}
