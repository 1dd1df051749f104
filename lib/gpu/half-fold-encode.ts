// The compressed ring's send side for the 16-bit hop codecs (bf16, fp16) as one kernel
// (shaders/half-fold-encode.wgsl): acc = acc + widen(recv), out = narrow(acc). Bit for bit
// castToFloat32Accumulate followed by castFromFloat32 on acc, with acc read once instead of
// twice and one dispatch instead of two. The three regions must lie in different buffers
// (a kernel may not write a buffer it binds again); offsets are multiples of 4.
import { invalidArgument } from '../errors.js';
import { isHalfType, type HalfType } from '../cpu/cast.js';
import { checkCount } from '../cpu/reduction.js';
import type { GpuContext, KernelVariant } from './context.js';
import { packedWords, prepareCodecCall, wordsPerElement, type Piece } from './codec.js';
import { kernelForms, type Recorder } from './kernel.js';
import { checkWorkgroupSize, type KernelOptions } from './options.js';
import type { GpuRegion } from './region.js';
import { UniformLayout } from './uniform-layout.js';
import halfSource from '../../shaders/half.wgsl';
import halfLanesSource from '../../shaders/half-lanes.wgsl';
import foldEncodeSource from '../../shaders/half-fold-encode.wgsl';

const SOURCE = `${halfSource}\n${halfLanesSource}\n${foldEncodeSource}`;

/** Units are quads of 4 elements (fold_encode) or octets of 8 (fold_encode_vec4); count is in elements; then the streams' word offsets. */
const FOLD_ENCODE_LAYOUT = new UniformLayout('FoldEncodeParams', ['count', 'recv_offset', 'acc_offset', 'out_offset']);

/** Quads per thread in the scalar form (lavapipe's cost is mostly per invocation). */
const QUADS_PER_THREAD = 2;

/** Octets per thread in the vec4 form: 32 elements, what the cast kernels' vec4 forms take. */
const OCTETS_PER_THREAD = 4;

/**
 * The pieces the call is cut into are whole octets, so both 16-bit streams start on a vec4 of
 * words where acc does (the vec4 form's condition) and on a word always.
 */
const OCTET = 8;

export interface HalfFoldEncodeArgs {
  /** ceil(count / 2) words of received 16-bit values. */
  readonly recv: GpuRegion;
  /** count f32 partial sums; receives acc + recv. */
  readonly acc: GpuRegion;
  /** Receives ceil(count / 2) words: the new acc narrowed (RNE). */
  readonly out: GpuRegion;
  readonly count: number;
  readonly half: HalfType;
}

export function prepareHalfFoldEncode(ctx: GpuContext, args: HalfFoldEncodeArgs, options: KernelOptions = {}): Recorder {
  const what = 'half fold + encode';
  if (!isHalfType(args.half)) throw invalidArgument(`${what}: unknown 16-bit type ${String(args.half)} (expected float16 or bfloat16)`);
  checkCount(what, args.count);
  const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize);
  const prelude = [`const HALF = ${args.half === 'float16' ? 'HALF_F16' : 'HALF_BF16'};`, FOLD_ENCODE_LAYOUT.wgsl];
  const variant = (entryPoint: string, unitsPerThread: number): KernelVariant => ({
    source: SOURCE, entryPoint, workgroupSize, unitsPerThread, prelude, ...(options.unitLayout && { unitLayout: options.unitLayout }),
  });
  const [scalar, vec4] = [variant('fold_encode', QUADS_PER_THREAD), variant('fold_encode_vec4', OCTETS_PER_THREAD)];
  const vec4Piece = (piece: Piece) => piece.elements % OCTET === 0 && piece.wordOffsets.every((offset) => offset % 4 === 0);
  return prepareCodecCall(ctx, {
    what,
    variant: (piece) => (vec4Piece(piece) ? vec4 : scalar),
    count: args.count, blockSize: OCTET,
    streams: [
      { name: 'recv', region: args.recv, writable: false, words: packedWords(2) },
      { name: 'acc', region: args.acc, writable: true, words: wordsPerElement },
      { name: 'out', region: args.out, writable: true, words: packedWords(2) },
    ],
    layout: FOLD_ENCODE_LAYOUT, fields: (piece) => [piece.elements],
    units: (piece) => Math.ceil(piece.elements / (vec4Piece(piece) ? OCTET : 4)), maxBindingBytes: options.maxBindingBytes,
  });
}

export const { encode: encodeHalfFoldEncode, run: gpuHalfFoldEncode } = kernelForms(prepareHalfFoldEncode);
