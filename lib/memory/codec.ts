// How a call's elements travel on the wire. A codec is chosen per allreduce call (or by the
// communicator's default, rank 0's choice) and handed to the memory a call is bound to.
// Encoding and decoding are the memory's: bytes that `read`, `outgoing` and the fused
// primitives return are encoded, and received payloads are decoded where they are written or
// folded, so a GPU memory can run a codec in kernels beside the reduce, and schedules never
// see the difference. A received payload's size is checked against `encodedBytes`, not
// against count × element size.
//
// Two schemes:
// - 'hop': every message is encoded by its sender and decoded by its receiver (a ring re-encodes
//   its partial sums at every hop). A lossy codec's memory writes the decoded form of the final
//   result it sends back over its own copy (recvReduceCopySend), so every rank ends with the
//   same bits: each holds the decoding of the same bytes.
// - 'integer': values are quantized once into integers that sum exactly (SwitchML), the sum
//   runs as a plain int32 allreduce, and the result is dequantized once; the memory never
//   encodes a message. The communicator composes it (lib/comm/integer-allreduce.ts).
import { elementBytes, type DataType } from '../dtype.js';
import { internalError, invalidArgument } from '../errors.js';

/** How a codec's payloads are laid out; each memory adapter implements every format. */
export type CodecFormat =
  | { readonly kind: 'identity' }
  /** 16-bit floats, 2 bytes per element, rounded to nearest even (lib/cpu/cast.ts). */
  | { readonly kind: 'half'; readonly half: 'float16' | 'bfloat16' }
  /**
   * One f32 scale per block of `blockSize` elements, then ceil(count / valuesPerWord) u32 words
   * of packed values (lib/cpu/int8.ts, lib/cpu/onebit.ts). Blocks start at the payload's first
   * element.
   */
  | { readonly kind: 'blocks'; readonly family: 'int8' | 'onebit'; readonly blockSize: number; readonly valuesPerWord: number }
  /** Shared-exponent int32 (lib/cpu/switchml.ts): one exponent per block of `blockSize`. */
  | { readonly kind: 'integer'; readonly blockSize: number };

export interface Codec {
  /** Its name in options, WEBCCL_COMPRESSION and the agreed configuration. */
  readonly name: string;
  /** Its number on the wire: message headers carry it (4 bits, see lib/transport/frame.ts). */
  readonly code: number;
  /** Bytes a payload of `count` elements of `dtype` takes on the wire. */
  encodedBytes(count: number, dtype: DataType): number;
  /**
   * Encoding is the identity: payloads are the elements' own bytes, which memories send as they
   * are (host memory straight from the caller's array). Every memory implements this case.
   */
  readonly identity: boolean;
  /** Decoding gives back exactly what was encoded. */
  readonly lossless: boolean;
  /**
   * The codec can keep a residual per (communicator, key) that carries what encoding lost into
   * the next call's encoding (error feedback). 'always': without a key a call starts from zeros
   * and drops its residual (onebit, which is only usable with feedback); 'keyed': only a call
   * with a key uses one, others encode plainly (int8).
   */
  readonly errorFeedback: false | 'always' | 'keyed';
  readonly format: CodecFormat;
  /**
   * The bound on one allreduce's error per element among `ranks` ranks, relative to the largest
   * Σ_r |x_r| of the call (the README's table). Absent when the codec states no per-call bound
   * (onebit) or only under a condition a call does not show (fp16's range): then
   * `compression: 'auto'` never picks it, whatever the tolerance.
   */
  readonly relativeErrorBound?: (ranks: number) => number;
}

/** No encoding: elements travel as they are. */
export const NO_CODEC: Codec = {
  name: 'none',
  code: 0,
  encodedBytes: (count, dtype) => count * elementBytes(dtype),
  identity: true,
  lossless: true,
  errorFeedback: false,
  format: { kind: 'identity' },
  relativeErrorBound: () => 0,
};

/** Payload bytes of a block format: the scales, then the packed words. */
export function blockPayloadBytes(count: number, blockSize: number, valuesPerWord: number): { scales: number; packed: number } {
  return { scales: 4 * Math.ceil(count / blockSize), packed: 4 * Math.ceil(count / valuesPerWord) };
}

/** The dtypes and ops a codec other than none serves (messages name them). */
export const COMPRESSIBLE = 'float32 with sum or avg';

/** For a memory that runs no encoding kernels: refuses any codec but the identity. */
export function requireIdentityCodec(memory: string, codec: Codec): Codec {
  if (!codec.identity) throw invalidArgument(`${memory} cannot run codec '${codec.name}'`);
  return codec;
}

/** How one memory runs each hop-codec payload format. */
export interface FormatMakers<T> {
  half(half: 'float16' | 'bfloat16'): T;
  blocks(family: 'int8' | 'onebit', blockSize: number, valuesPerWord: number): T;
}

/**
 * A memory's implementation of a format, made once per distinct format and kept: `memory`
 * names the memory in the error for a format it cannot run.
 */
export function formatImplementations<T>(memory: string, makers: FormatMakers<T>): (format: CodecFormat) => T {
  const made = new Map<string, T>();
  return (format) => {
    const key = JSON.stringify(format);
    let implementation = made.get(key);
    if (implementation) return implementation;
    switch (format.kind) {
      case 'half': implementation = makers.half(format.half); break;
      case 'blocks': implementation = makers.blocks(format.family, format.blockSize, format.valuesPerWord); break;
      default: throw internalError(`${memory} has no hop encoding for a '${format.kind}' codec`);
    }
    made.set(key, implementation);
    return implementation;
  };
}
