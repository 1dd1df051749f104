// The hop codecs' payload formats (lib/memory/codec.ts) on TypedArrays: what host memory sends
// and receives when an allreduce is compressed. Bit-identical to the GPU's (lib/gpu/
// gpu-codec.ts): both run the same kernels' formats, so ranks holding host and device buffers
// in one world decode the same bytes to the same values.
import { blockPayloadBytes, formatImplementations } from '../memory/codec.js';
import { cpuReducer } from './cpu-reducer.js';
import { readElements } from './views.js';

export interface HostCodec {
  /**
   * `x`'s elements as a payload. With a residual (error feedback) the residual is added first
   * and overwritten with what the encoding lost. The payload is `allocate`'s array (given the
   * payload's size; it must start 4-byte aligned, its contents may be anything: every byte is
   * written), by default a new one the caller owns.
   */
  encode(x: Float32Array, residual: Float32Array | undefined, allocate?: PayloadAllocator): Uint8Array;
  /** A payload of `count` elements, decoded into `out`. */
  decode(payload: Uint8Array, count: number, out: Float32Array): void;
  /** acc[i] = fl(acc[i] + decoded_i): decode + accumulate in one pass, bit for bit decode then the reduction's f32 sum (its NaN rule included). */
  decodeAccumulate(payload: Uint8Array, count: number, acc: Float32Array): void;
}

/** Where an encoding is written: an array of exactly `bytes` bytes, 4-byte aligned. */
export type PayloadAllocator = (bytes: number) => Uint8Array;

const freshPayload: PayloadAllocator = (bytes) => new Uint8Array(bytes);

/** The payload's words from `at` bytes on (an aligned copy when the transport's bytes are not). */
function words(payload: Uint8Array, at: number, count: number): Uint32Array {
  return readElements('uint32', payload.subarray(at), count) as Uint32Array;
}

/** Encode, decode and decode-accumulate go through the installed reducer (native SIMD in Node, else lib/cpu/cast.ts); so do blockCodec's. */
function halfCodec(half: 'float16' | 'bfloat16'): HostCodec {
  return {
    encode(x, _residual, allocate = freshPayload) {
      const payload = allocate(2 * x.length);
      cpuReducer().narrow(half, new Uint16Array(payload.buffer, payload.byteOffset, x.length), new Uint32Array(x.buffer, x.byteOffset, x.length));
      return payload;
    },
    decode(payload, count, out) {
      cpuReducer().widen(half, new Uint32Array(out.buffer, out.byteOffset, count), readElements('float16', payload, count) as Uint16Array);
    },
    decodeAccumulate(payload, count, acc) {
      cpuReducer().widenAccumulate(half, acc.subarray(0, count), readElements('float16', payload, count) as Uint16Array);
    },
  };
}

function blockCodec(family: 'int8' | 'onebit', blockSize: number, valuesPerWord: number): HostCodec {
  /** The payload's scales (f32) and packed words. */
  const streams = (payload: Uint8Array, count: number) => {
    const sizes = blockPayloadBytes(count, blockSize, valuesPerWord);
    const scaleWords = words(payload, 0, sizes.scales / 4);
    return { scales: new Float32Array(scaleWords.buffer, scaleWords.byteOffset, scaleWords.length), packed: words(payload, sizes.scales, sizes.packed / 4) };
  };
  const decodeInto = (payload: Uint8Array, count: number, out: Float32Array, accumulate: boolean) => {
    const { packed, scales } = streams(payload, count);
    if (family === 'int8') cpuReducer().blocks.int8Dequantize(packed, scales, count, blockSize, out, accumulate);
    else cpuReducer().blocks.onebitDecompress(packed, scales, count, blockSize, out, accumulate);
  };
  return {
    encode(x, residual, allocate = freshPayload) {
      const count = x.length;
      const sizes = blockPayloadBytes(count, blockSize, valuesPerWord);
      // Every byte is written: each block's scale, and the packed words (cleared first by the quantizers).
      const payload = allocate(sizes.scales + sizes.packed);
      const scales = new Float32Array(payload.buffer, payload.byteOffset, sizes.scales / 4);
      const packed = new Uint32Array(payload.buffer, payload.byteOffset + sizes.scales, sizes.packed / 4);
      const blocks = cpuReducer().blocks;
      if (family === 'int8') blocks.int8Quantize(x, residual, count, blockSize, { packed, scales });
      else blocks.onebitCompress(x, residual ?? new Float32Array(count), count, blockSize, { signs: packed, scales });
      return payload;
    },
    decode(payload, count, out) {
      decodeInto(payload, count, out, false);
    },
    decodeAccumulate(payload, count, acc) {
      decodeInto(payload, count, acc, true);
    },
  };
}

/** The host implementation of a hop codec's format. */
export const hostCodec = formatImplementations<HostCodec>('host memory', { half: halfCodec, blocks: blockCodec });
