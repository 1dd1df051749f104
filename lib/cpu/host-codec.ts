// The hop codecs' payload formats (lib/memory/codec.ts) on TypedArrays: what host memory sends
// and receives when an allreduce is compressed. Bit-identical to the GPU's (lib/gpu/
// gpu-codec.ts): both run the same kernels' formats, so ranks holding host and device buffers
// in one world decode the same bytes to the same values.
import { blockPayloadBytes, formatImplementations } from '../memory/codec.js';
import { narrowBits, widenBits } from './cast.js';
import { int8Dequantize, int8Quantize } from './int8.js';
import { onebitCompress, onebitDecompress } from './onebit.js';
import { readElements } from './views.js';

export interface HostCodec {
  /**
   * `x`'s elements as a payload the caller owns. With a residual (error feedback) the residual
   * is added first and overwritten with what the encoding lost.
   */
  encode(x: Float32Array, residual: Float32Array | undefined): Uint8Array;
  /** A payload of `count` elements, decoded into `out`. */
  decode(payload: Uint8Array, count: number, out: Float32Array): void;
}

/** The payload's words from `at` bytes on (an aligned copy when the transport's bytes are not). */
function words(payload: Uint8Array, at: number, count: number): Uint32Array {
  return readElements('uint32', payload.subarray(at), count) as Uint32Array;
}

function halfCodec(half: 'float16' | 'bfloat16'): HostCodec {
  return {
    encode(x) {
      const out = new Uint16Array(x.length);
      narrowBits(half, out, new Uint32Array(x.buffer, x.byteOffset, x.length));
      return new Uint8Array(out.buffer);
    },
    decode(payload, count, out) {
      widenBits(half, new Uint32Array(out.buffer, out.byteOffset, count), readElements('float16', payload, count) as Uint16Array);
    },
  };
}

function blockCodec(family: 'int8' | 'onebit', blockSize: number, valuesPerWord: number): HostCodec {
  return {
    encode(x, residual) {
      const count = x.length;
      const sizes = blockPayloadBytes(count, blockSize, valuesPerWord);
      const payload = new Uint8Array(sizes.scales + sizes.packed);
      const scales = new Float32Array(payload.buffer, 0, sizes.scales / 4);
      const packed = new Uint32Array(payload.buffer, sizes.scales, sizes.packed / 4);
      if (family === 'int8') int8Quantize(x, count, blockSize, { packed, scales });
      else onebitCompress(x, residual ?? new Float32Array(count), count, blockSize, { signs: packed, scales });
      return payload;
    },
    decode(payload, count, out) {
      const sizes = blockPayloadBytes(count, blockSize, valuesPerWord);
      const scaleWords = words(payload, 0, sizes.scales / 4);
      const scaleView = new Float32Array(scaleWords.buffer, scaleWords.byteOffset, scaleWords.length);
      const packed = words(payload, sizes.scales, sizes.packed / 4);
      if (family === 'int8') int8Dequantize(packed, scaleView, count, blockSize, out);
      else onebitDecompress(packed, scaleView, count, blockSize, out);
    },
  };
}

/** The host implementation of a hop codec's format. */
export const hostCodec = formatImplementations<HostCodec>('host memory', { half: halfCodec, blocks: blockCodec });
