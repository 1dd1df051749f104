// Quantization codecs over a 64 MiB f32 payload with 256-element blocks: SwitchML (exponents,
// quantize for 8 workers, dequantize), block int8 and 1-bit sign with error feedback, each way.
// bytesMoved counts every region once per run (per-block arrays included), although the block
// kernels read their f32 input twice (the second pass mostly from cache).
import { int8PackedWords } from '../../lib/cpu/int8.js';
import { onebitSignWords } from '../../lib/cpu/onebit.js';
import type { GpuContext } from '../../lib/gpu/context.js';
import { encodeInt8Dequantize, encodeInt8Quantize, type Int8Options } from '../../lib/gpu/int8.js';
import { encodeOnebitCompress, encodeOnebitDecompress } from '../../lib/gpu/onebit.js';
import { region } from '../../lib/gpu/region.js';
import { encodeSwitchmlBlockExponents, encodeSwitchmlDequantize, encodeSwitchmlQuantize } from '../../lib/gpu/switchml.js';
import { caseWithBuffers, filledBuffer, type KernelCaseList } from './case.js';

const BLOCK = 256;
const WORKERS = 8;

/** filledBuffer's f32 values lie in [2^-7, 2^-6): agreed exponents of -5 keep every element on the common path. */
const AGREED_EXPONENT = -5;

function exponentBuffer(ctx: GpuContext, blocks: number): GPUBuffer {
  const buffer = filledBuffer(ctx, blocks * 4);
  ctx.device.queue.writeBuffer(buffer, 0, new Int32Array(blocks).fill(AGREED_EXPONENT));
  return buffer;
}

interface Shape {
  readonly count: number;
  readonly blocks: number;
  readonly payload: number;
  readonly perBlock: number;
}

function shape(payloadBytes: number): Shape {
  const count = payloadBytes / 4;
  const blocks = Math.ceil(count / BLOCK);
  return { count, blocks, payload: payloadBytes, perBlock: blocks * 4 };
}

export const kernelCases: KernelCaseList = (payloadBytes) => {
  const s = shape(payloadBytes);
  const int8Bytes = int8PackedWords(s.count) * 4;
  const signBytes = onebitSignWords(s.count) * 4;
  const layout = { count: s.count, blockSize: BLOCK };
  const int8QuantizeCase = (suffix: string, options: Int8Options = {}) => caseWithBuffers(`int8 quantize k=${BLOCK}${suffix}`, s.payload + int8Bytes + s.perBlock,
    (ctx) => [filledBuffer(ctx, s.payload), filledBuffer(ctx, int8Bytes), filledBuffer(ctx, s.perBlock)],
    (ctx, e, [x, packed, scales]) => encodeInt8Quantize(ctx, e, { src: region(x!), packed: region(packed!), scales: region(scales!), ...layout }, options));
  return [
    caseWithBuffers(`switchml exponents k=${BLOCK}`, s.payload + s.perBlock,
      (ctx) => [filledBuffer(ctx, s.payload), filledBuffer(ctx, s.perBlock)],
      (ctx, e, [x, ex]) => encodeSwitchmlBlockExponents(ctx, e, { src: region(x!), exponents: region(ex!), ...layout })),
    // The GPUs' default layout, measured wherever the benchmark runs (software adapters default to thread-per-block).
    caseWithBuffers(`switchml exponents k=${BLOCK} (workgroup-per-block)`, s.payload + s.perBlock,
      (ctx) => [filledBuffer(ctx, s.payload), filledBuffer(ctx, s.perBlock)],
      (ctx, e, [x, ex]) => encodeSwitchmlBlockExponents(ctx, e, { src: region(x!), exponents: region(ex!), ...layout }, { exponentsLayout: 'workgroup-per-block' })),
    caseWithBuffers(`switchml quantize k=${BLOCK} n=${WORKERS}`, 2 * s.payload + s.perBlock,
      (ctx) => [filledBuffer(ctx, s.payload), exponentBuffer(ctx, s.blocks), filledBuffer(ctx, s.payload)],
      (ctx, e, [x, ex, q]) => encodeSwitchmlQuantize(ctx, e, { src: region(x!), exponents: region(ex!), dst: region(q!), workers: WORKERS, ...layout })),
    caseWithBuffers(`switchml dequantize k=${BLOCK} n=${WORKERS}`, 2 * s.payload + s.perBlock,
      (ctx) => [filledBuffer(ctx, s.payload), exponentBuffer(ctx, s.blocks), filledBuffer(ctx, s.payload)],
      (ctx, e, [q, ex, y]) => encodeSwitchmlDequantize(ctx, e, { src: region(q!), exponents: region(ex!), dst: region(y!), workers: WORKERS, ...layout })),
    int8QuantizeCase(''),
    // The GPUs' default layout, measured wherever the benchmark runs (software adapters default to thread-per-block).
    int8QuantizeCase(' (workgroup-per-block)', { quantizeLayout: 'workgroup-per-block' }),
    caseWithBuffers(`int8 dequantize k=${BLOCK}`, int8Bytes + s.perBlock + s.payload,
      (ctx) => [filledBuffer(ctx, int8Bytes), filledBuffer(ctx, s.perBlock), filledBuffer(ctx, s.payload)],
      (ctx, e, [packed, scales, y]) => encodeInt8Dequantize(ctx, e, { packed: region(packed!), scales: region(scales!), dst: region(y!), ...layout })),
    caseWithBuffers(`onebit compress+EF k=${BLOCK}`, 3 * s.payload + signBytes + s.perBlock,
      (ctx) => [filledBuffer(ctx, s.payload), filledBuffer(ctx, s.payload), filledBuffer(ctx, signBytes), filledBuffer(ctx, s.perBlock)],
      (ctx, e, [x, r, signs, scales]) => encodeOnebitCompress(ctx, e, { x: region(x!), residual: region(r!), signs: region(signs!), scales: region(scales!), ...layout })),
    // The GPUs' default compress layout, measured wherever the benchmark runs (software adapters default to thread-per-block).
    caseWithBuffers(`onebit compress+EF k=${BLOCK} (workgroup-per-block)`, 3 * s.payload + signBytes + s.perBlock,
      (ctx) => [filledBuffer(ctx, s.payload), filledBuffer(ctx, s.payload), filledBuffer(ctx, signBytes), filledBuffer(ctx, s.perBlock)],
      (ctx, e, [x, r, signs, scales]) => encodeOnebitCompress(ctx, e,
        { x: region(x!), residual: region(r!), signs: region(signs!), scales: region(scales!), ...layout }, { compressLayout: 'workgroup-per-block' })),
    caseWithBuffers(`onebit decompress k=${BLOCK}`, signBytes + s.perBlock + s.payload,
      (ctx) => [filledBuffer(ctx, signBytes), filledBuffer(ctx, s.perBlock), filledBuffer(ctx, s.payload)],
      (ctx, e, [signs, scales, y]) => encodeOnebitDecompress(ctx, e, { signs: region(signs!), scales: region(scales!), dst: region(y!), ...layout })),
  ];
};
