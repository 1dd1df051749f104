// What the two 16-bit float codecs share: 2 bytes per element, rounded to nearest even, no
// scale, no state. Relative error per encoding at most 2^-11 (fp16, inside its range) or 2^-8
// (bf16); a ring re-encodes each partial sum once per hop (see the bounds in the README).
import type { Codec } from '../codec.js';

export function halfCodec(name: string, code: number, half: 'float16' | 'bfloat16', relativeErrorBound?: (ranks: number) => number): Codec {
  return {
    name, code, identity: false, lossless: false, errorFeedback: false,
    encodedBytes: (count) => 2 * count,
    format: { kind: 'half', half },
    ...(relativeErrorBound && { relativeErrorBound }),
  };
}
