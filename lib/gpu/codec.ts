// What the GPU quantization codecs (switchml.ts, int8.ts, onebit.ts) share: checking a call's
// regions before anything is recorded, splitting the work into pieces of whole blocks that fit
// the device's storage binding limit, binding each piece, recording one dispatch per piece, and
// the WGSL source of a family with the shared helpers in front.
//
// A codec call touches several streams (f32 elements, packed words, one word per block), each
// a region whose length follows from the element count. A piece is a run of whole blocks, so
// every stream's part of a piece starts on a word boundary (block sizes are multiples of the
// packing factor) and per-block arrays stay indexed by block within the piece.
import { invalidArgument } from '../errors.js';
import { blockCount } from '../cpu/blocks.js';
import type { GpuContext, KernelVariant } from './context.js';
import type { Recorder } from './kernel.js';
import { splitIntoPieces } from './pieces.js';
import { checkRegion, region, type GpuRegion } from './region.js';
import type { UniformLayout } from './uniform-layout.js';
import quantizeCommon from '../../shaders/quantize-common.wgsl';

export interface Stream {
  /** Named in error messages, e.g. "scales". */
  readonly name: string;
  readonly region: GpuRegion;
  readonly writable: boolean;
  /** 32-bit words the stream holds for the first n elements (n at a block boundary or the count). */
  readonly words: (elements: number) => number;
}

/** Words per element layout: plain 32-bit elements, k elements packed per word, one word per block. */
export const wordsPerElement = (elements: number): number => elements;
export const packedWords = (perWord: number) => (elements: number): number => Math.ceil(elements / perWord);
export const wordsPerBlock = (blockSize: number) => (elements: number): number => Math.ceil(elements / blockSize);

export interface Piece {
  readonly firstBlock: number;
  readonly blocks: number;
  /** Elements in the piece (blocks * blockSize, less for the piece holding a ragged last block). */
  readonly elements: number;
  /** One binding per stream, in the order given. */
  readonly storage: readonly GPUBufferBinding[];
  /** Where each stream's part of the piece starts inside its binding, in words. */
  readonly wordOffsets: readonly number[];
}

/**
 * Checks every stream (length, alignment, usage, no buffer both written and bound again) and
 * returns the bound pieces. Throws InvalidArgument before anything is encoded.
 */
function planPieces(
  ctx: GpuContext, what: string, count: number, blockSize: number, streams: readonly Stream[], maxBindingBytes?: number,
): Piece[] {
  for (const stream of streams) checkRegion(`${what}: ${stream.name}`, stream.region, stream.words(count) * 4);
  checkWritableBuffersUnshared(what, streams);
  const units = blockCount(count, blockSize);
  const pieces = splitIntoPieces(ctx, what, units, {
    maxBytesPerUnit: Math.max(...streams.map((s) => s.words(blockSize) * 4)),
    ...(maxBindingBytes !== undefined && { maxBindingBytes }),
  });
  return pieces.map(({ start, count: blocks }) => {
    const first = start * blockSize;
    const elements = Math.min(count, (start + blocks) * blockSize) - first;
    const bindings = streams.map((s) => {
      const skipWords = s.words(first);
      return ctx.bind(region(s.region.buffer, s.region.byteOffset + skipWords * 4), (s.words(first + elements) - skipWords) * 4);
    });
    return {
      firstBlock: start, blocks, elements,
      storage: bindings.map((b) => b.resource), wordOffsets: bindings.map((b) => b.wordOffset),
    };
  });
}

/**
 * WebGPU rejects a dispatch that binds one buffer as writable storage and binds it again
 * (read-only, or writable over an overlapping range, which aligned bindings make likely), so
 * every buffer a codec writes must appear in that call once.
 */
function checkWritableBuffersUnshared(what: string, streams: readonly Stream[]): void {
  for (const written of streams.filter((s) => s.writable)) {
    const other = streams.find((s) => s !== written && s.region.buffer === written.region.buffer);
    if (other) {
      throw invalidArgument(`${what}: ${written.name} and ${other.name} are in the same buffer; a buffer the kernel writes must hold no other region of the call`);
    }
  }
}

/** One codec kernel call, as every codec kernel is shaped: streams in, one dispatch per piece. */
export interface CodecCall {
  readonly what: string;
  /** The kernel, or the kernel for a piece (e.g. a vec4 form where the piece's streams allow it). */
  readonly variant: KernelVariant | ((piece: Piece) => KernelVariant);
  readonly count: number;
  readonly blockSize: number;
  /** Bound in this order from binding 1; their word offsets are the layout's last fields, in the same order. */
  readonly streams: readonly Stream[];
  readonly layout: UniformLayout;
  /** The layout's fields before the stream offsets, for one piece. */
  readonly fields: (piece: Piece) => readonly number[];
  /** Units of work of one piece (GpuContext.dispatch's count: threads of per-block kernels, else elements). */
  readonly units: (piece: Piece) => number;
  readonly maxBindingBytes?: number | undefined;
}

/** Checks the call's streams (throws before anything is recorded) and returns what records it. */
export function prepareCodecCall(ctx: GpuContext, call: CodecCall): Recorder {
  const pieces = planPieces(ctx, call.what, call.count, call.blockSize, call.streams, call.maxBindingBytes);
  return (encoder) => {
    for (const piece of pieces) {
      const params = call.layout.words([...call.fields(piece), ...piece.wordOffsets]);
      const variant = typeof call.variant === 'function' ? call.variant(piece) : call.variant;
      ctx.dispatch(encoder, variant, params, piece.storage, call.units(piece));
    }
  };
}

/**
 * Elements per thread of the per-element kernels (quantize, dequantize, decompress): a thread
 * per element is what lavapipe runs slowest (its cost is mostly per invocation).
 */
export const ELEMENTS_PER_THREAD = 4;

/** A family's kernel with the shared quantization helpers in front of its source. */
export function codecVariant(
  familySource: string, entryPoint: string, workgroupSize: number, prelude: readonly string[], unitsPerThread = 1,
): KernelVariant {
  return { source: joinedSource(quantizeCommon, familySource), entryPoint, workgroupSize, prelude, unitsPerThread };
}

const joined = new Map<string, Map<string, string>>();

/**
 * `first` and `second` joined by a newline, the same string object on every call for the same
 * pair, as KernelVariant.source asks (the pipeline cache hashes it on every dispatch).
 */
export function joinedSource(first: string, second: string): string {
  let byFirst = joined.get(first);
  if (!byFirst) joined.set(first, (byFirst = new Map()));
  let source = byFirst.get(second);
  if (source === undefined) byFirst.set(second, (source = `${first}\n${second}`));
  return source;
}
