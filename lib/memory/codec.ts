// How a call's elements travel on the wire. A codec is chosen once per communicator (rank 0's
// choice, in the agreed configuration: every rank must encode and decode alike) and handed to
// the memory a call is bound to. Encoding and decoding are the memory's: bytes that `read`,
// `outgoing` and the fused primitives return are encoded, and received payloads are decoded
// where they are written or folded, so a GPU memory can run a codec in a kernel beside the
// reduce, and schedules never see the difference. A received payload's size is checked
// against `encodedBytes`, not against count × element size.
import { elementBytes, type DataType } from '../dtype.js';
import { invalidArgument } from '../errors.js';

export interface Codec {
  /** Its name in options and the agreed configuration. */
  readonly name: string;
  /** Its number on the wire (a byte), should message headers come to carry it. */
  readonly code: number;
  /** Bytes a payload of `count` elements of `dtype` takes on the wire. */
  encodedBytes(count: number, dtype: DataType): number;
  /**
   * Encoding is the identity: payloads are the elements' own bytes, which memories send as they
   * are (host memory straight from the caller's array). Every memory implements this case.
   */
  readonly identity: boolean;
}

/** No encoding: elements travel as they are. */
export const NO_CODEC: Codec = {
  name: 'none',
  code: 0,
  encodedBytes: (count, dtype) => count * elementBytes(dtype),
  identity: true,
};

/** For a memory that runs no encoding kernels (yet): refuses any codec but the identity. */
export function requireIdentityCodec(memory: string, codec: Codec): Codec {
  if (!codec.identity) throw invalidArgument(`${memory} cannot run codec '${codec.name}'`);
  return codec;
}
