// The hop codecs' payload formats (lib/memory/codec.ts) as GPU kernels, bit-identical to
// lib/cpu/host-codec.ts. An encoding writes one or two streams (kernels may not write two
// regions of one buffer in one call), each into its own staging buffer; the payload is the
// streams one after the other, copied into a readback buffer in the same submission. A
// decoding reads the streams straight from the uploaded payload (read-only regions of one
// buffer are fine) and writes f32 values.
import { internalError } from '../errors.js';
import { blockPayloadBytes, formatImplementations } from '../memory/codec.js';
import { prepareCastFromFloat32, prepareCastToFloat32, prepareCastToFloat32Accumulate } from './cast.js';
import type { GpuContext } from './context.js';
import { prepareHalfFoldEncode } from './half-fold-encode.js';
import { prepareInt8Dequantize, prepareInt8FoldQuantize, prepareInt8Quantize } from './int8.js';
import type { Recorder } from './kernel.js';
import { prepareOnebitCompress, prepareOnebitDecompress } from './onebit.js';
import { prepareReduceAccumulate } from './reduce.js';
import { region, type GpuRegion } from './region.js';

const align4 = (n: number) => Math.ceil(n / 4) * 4;

export interface GpuHopCodec {
  /** Byte sizes of the streams an encoding of `count` elements writes (multiples of 4), in payload order. */
  streams(count: number): number[];
  /** Records encoding `count` f32 values at `src` into `out` (one buffer per stream); with error feedback, `residual` too. */
  prepareEncode(ctx: GpuContext, src: GpuRegion, count: number, out: readonly GPUBuffer[], residual: GpuRegion | undefined): Recorder;
  /** Records decoding a payload whose streams start at `payload` (laid out as `streams` says) into `dst`. */
  prepareDecode(ctx: GpuContext, payload: GpuRegion, dst: GpuRegion, count: number): Recorder;
  /** Records dst = dst + decode(payload): a hop's decode + accumulate as one kernel, bit for bit decode then an f32 sum. */
  prepareDecodeAccumulate(ctx: GpuContext, payload: GpuRegion, dst: GpuRegion, count: number): Recorder;
  /**
   * Records a ring hop's send side, dst = dst + decode(payload) and then dst encoded into `out`:
   * bit for bit prepareDecodeAccumulate then prepareEncode, in one kernel where the format has
   * one (bf16, fp16, int8 without a residual), else as those two.
   */
  prepareFoldEncode(ctx: GpuContext, payload: GpuRegion, dst: GpuRegion, count: number, out: readonly GPUBuffer[], residual: GpuRegion | undefined): Recorder;
}

/** decode + accumulate, then encode: the two-kernel send side. */
function foldThenEncode(codec: Omit<GpuHopCodec, 'prepareFoldEncode'>): GpuHopCodec['prepareFoldEncode'] {
  return (ctx, payload, dst, count, out, residual) => {
    const fold = codec.prepareDecodeAccumulate(ctx, payload, dst, count);
    const encode = codec.prepareEncode(ctx, dst, count, out, residual);
    return (encoder) => { fold(encoder); encode(encoder); };
  };
}

function halfCodec(half: 'float16' | 'bfloat16'): GpuHopCodec {
  return {
    streams: (count) => [align4(2 * count)],
    prepareEncode: (ctx, src, count, out) => prepareCastFromFloat32(ctx, region(out[0]!), src, count, half),
    prepareDecode: (ctx, payload, dst, count) => prepareCastToFloat32(ctx, dst, payload, count, half),
    prepareDecodeAccumulate: (ctx, payload, dst, count) => prepareCastToFloat32Accumulate(ctx, dst, payload, count, half),
    prepareFoldEncode: (ctx, payload, dst, count, out) => prepareHalfFoldEncode(ctx, { recv: payload, acc: dst, out: region(out[0]!), count, half }),
  };
}

/**
 * int8 with error feedback (lib/cpu/int8.ts int8QuantizeWithFeedback, bit for bit): the residual
 * becomes v = residual + x (the reduce kernel's f32 sum), v is quantized, and the residual
 * becomes v minus the dequantized payload (the fused decode kernel, subtracting; 0 in a
 * poisoned block); three dispatches, no scratch.
 */
function int8WithFeedback(ctx: GpuContext, src: GpuRegion, count: number, packed: GpuRegion, scales: GpuRegion, residual: GpuRegion, blockSize: number): Recorder {
  const sum = prepareReduceAccumulate(ctx, residual, [src], count, 'float32', 'sum');
  const quantize = prepareInt8Quantize(ctx, { src: residual, packed, scales, count, blockSize });
  const lost = prepareInt8Dequantize(ctx, { packed, scales, dst: residual, count, blockSize, accumulate: 'subtract' });
  return (encoder) => { sum(encoder); quantize(encoder); lost(encoder); };
}

function blockCodec(family: 'int8' | 'onebit', blockSize: number, valuesPerWord: number): GpuHopCodec {
  const sizes = (count: number) => blockPayloadBytes(count, blockSize, valuesPerWord);
  /** A payload's two streams, scales first. */
  const streamsOf = (payload: GpuRegion, count: number) => ({
    scales: payload, packed: region(payload.buffer, payload.byteOffset + sizes(count).scales),
  });
  const decoder = (ctx: GpuContext, payload: GpuRegion, dst: GpuRegion, count: number, accumulate?: 'add'): Recorder => {
    const { scales, packed } = streamsOf(payload, count);
    const fold = accumulate ? { accumulate } : {};
    if (family === 'int8') return prepareInt8Dequantize(ctx, { packed, scales, dst, count, blockSize, ...fold });
    return prepareOnebitDecompress(ctx, { signs: packed, scales, dst, count, blockSize, ...fold });
  };
  const codec: Omit<GpuHopCodec, 'prepareFoldEncode'> = {
    streams: (count) => [sizes(count).scales, sizes(count).packed],
    prepareEncode(ctx, src, count, out, residual) {
      const scales = region(out[0]!);
      const packed = region(out[1]!);
      if (family === 'int8') return residual ? int8WithFeedback(ctx, src, count, packed, scales, residual, blockSize) : prepareInt8Quantize(ctx, { src, packed, scales, count, blockSize });
      if (!residual) throw internalError('onebit encoding needs a residual');
      return prepareOnebitCompress(ctx, { x: src, residual, signs: packed, scales, count, blockSize });
    },
    prepareDecode: (ctx, payload, dst, count) => decoder(ctx, payload, dst, count),
    prepareDecodeAccumulate: (ctx, payload, dst, count) => decoder(ctx, payload, dst, count, 'add'),
  };
  const twoKernels = foldThenEncode(codec);
  return {
    ...codec,
    prepareFoldEncode(ctx, payload, dst, count, out, residual) {
      if (family !== 'int8' || residual) return twoKernels(ctx, payload, dst, count, out, residual);
      const recv = streamsOf(payload, count);
      return prepareInt8FoldQuantize(ctx, {
        recvPacked: recv.packed, recvScales: recv.scales, acc: dst, packed: region(out[1]!), scales: region(out[0]!), count, blockSize,
      });
    },
  };
}

/** The GPU implementation of a hop codec's format. */
export const gpuHopCodec = formatImplementations<GpuHopCodec>('GPU memory', { half: halfCodec, blocks: blockCodec });
