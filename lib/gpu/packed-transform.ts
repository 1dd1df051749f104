// What bitpack.ts and cast.ts share: a kernel that converts between a stream of 32-bit values
// and a stream of packed u32 words holding `valuesPerWord` of them (bit lanes, 16-bit halves).
// The work is counted in packed words; each piece binds its words and the values they hold,
// reading src through dst's binding when both share a buffer (see bind-with-dst.ts; the variant
// then declares no src binding, input-bindings.ts). The uniform block shaders/packed-io.wgsl
// reads is declared here (PACKED_IO_LAYOUT). The whole words of a piece whose streams are
// vec4-aligned together go to the vec4 entry points (pack_vec4, unpack_vec4: four packed words
// and their values per unit, vec4 loads and stores), the rest to the family's scalar ones.
import { bindWithDst, readsThroughDst, sharedSpanBytes, type Slice } from './bind-with-dst.js';
import type { GpuContext, KernelVariant } from './context.js';
import { inputBindingsPrelude, inputStorage, VEC4_VIEW, WORD_VIEW } from './input-bindings.js';
import { splitIntoPieces } from './pieces.js';
import type { Recorder } from './kernel.js';
import { checkRegion, type GpuRegion } from './region.js';
import { UniformLayout } from './uniform-layout.js';
import type { WordSpan } from './vec4-spans.js';

export interface PackedTransform {
  /** The caller's name in error messages, e.g. "packBits". */
  readonly what: string;
  /**
   * The family's scalar variant; src's binding and readers are added to its prelude here, and
   * the vec4 variant is the same with packed-io.wgsl's vec4 entry point.
   */
  readonly variant: KernelVariant;
  /** 'pack': src holds the values, dst the packed words; 'unpack': the other way round. */
  readonly direction: 'pack' | 'unpack';
  readonly dst: GpuRegion;
  readonly src: GpuRegion;
  /** Values (one per u32 on the unpacked side). */
  readonly count: number;
  readonly valuesPerWord: number;
  readonly maxBindingBytes?: number | undefined;
  /** The vec4 entry point, when the family has its own (default: packed-io.wgsl's pack_vec4 / unpack_vec4). */
  readonly vec4EntryPoint?: string;
}

/**
 * Units are packed words; count is in values; the offsets are in words from the start of dst's
 * binding and of the binding src is read through.
 */
const PACKED_IO_LAYOUT = new UniformLayout('Params', ['count', 'dst_offset', 'src_offset']);

/** Checks both regions and returns what records the dispatches (nothing is recorded on error). */
export function preparePackedTransform(ctx: GpuContext, t: PackedTransform): Recorder {
  const perWord = t.valuesPerWord;
  const words = Math.ceil(t.count / perWord);
  const packing = t.direction === 'pack';
  checkRegion(`${t.what} dst`, t.dst, packing ? words * 4 : t.count * 4);
  checkRegion(`${t.what} src`, t.src, packing ? t.count * 4 : words * 4);
  // A packed word is 4 bytes on its side and up to 4 * perWord bytes on the value side; the
  // value side drifts ahead of the packed side by that difference per word.
  const pieces = splitIntoPieces(ctx, t.what, words, {
    maxBytesPerUnit: 4 * perWord, extraSpanBytes: sharedSpanBytes(t.dst, [t.src], words * 4 * (perWord - 1)),
    ...(t.maxBindingBytes !== undefined && { maxBindingBytes: t.maxBindingBytes }),
  });
  const srcViaDst = readsThroughDst(t.dst, t.src) ? 1 : 0;
  const prelude = [...t.variant.prelude, PACKED_IO_LAYOUT.wgsl, ...inputBindingsPrelude(1, srcViaDst, [WORD_VIEW, VEC4_VIEW])];
  const scalar: KernelVariant = { ...t.variant, prelude };
  // A unit of the vec4 form is 4 packed words, perWord vec4s of values: a thread takes 8 or more
  // vec4s. Unpacking in the coalesced layout (GPUs) takes one vec4 of values per unit instead
  // (unpack_quads, packed-io.wgsl: neighbouring threads store neighbouring vec4s), 4 per thread.
  const quads = !packing && t.vec4EntryPoint === undefined && (t.variant.unitLayout ?? ctx.unitLayout) === 'coalesced';
  // Packing 1- or 2-bit lanes in the consecutive layout (software adapters) takes one packed word
  // per unit, 8 vec4s of values a thread (pack_words_vec4, packed-io.wgsl), not 32 or 16: lanes
  // that read nearer each other ran faster on lavapipe.
  const packWords = packing && t.vec4EntryPoint === undefined && perWord >= 16 && (t.variant.unitLayout ?? ctx.unitLayout) === 'consecutive';
  const vec4: KernelVariant = quads
    ? { ...scalar, entryPoint: 'unpack_quads', unitsPerThread: 4 }
    : packWords
      ? { ...scalar, entryPoint: 'pack_words_vec4', unitsPerThread: 32 / perWord }
      : { ...scalar, entryPoint: t.vec4EntryPoint ?? (packing ? 'pack_vec4' : 'unpack_vec4'), unitsPerThread: Math.max(1, 8 / perWord) };
  /** Units of the vec4 form in a span of `words` packed words (a multiple of 4). */
  const vec4Units = (words: number) => (quads ? (words / 4) * perWord : packWords ? words : words / 4);
  return (encoder) => {
    for (const piece of pieces) {
      const values = Math.min(piece.count * perWord, t.count - piece.start * perWord);
      const packedSlice = (r: GpuRegion): Slice => ({ region: r, skip: piece.start * 4, bytes: piece.count * 4 });
      const valueSlice = (r: GpuRegion): Slice => ({ region: r, skip: piece.start * perWord * 4, bytes: values * 4 });
      const bound = packing ? bindWithDst(ctx, packedSlice(t.dst), [valueSlice(t.src)]) : bindWithDst(ctx, valueSlice(t.dst), [packedSlice(t.src)]);
      const storage = inputStorage(bound);
      const [packedOffset, valueOffset] = packing ? [bound.dst.wordOffset, bound.inputs[0]!.wordOffset] : [bound.inputs[0]!.wordOffset, bound.dst.wordOffset];
      const offsets = (packedWord: number, unit: number) => {
        const [packedAt, valueAt] = [(packedOffset + packedWord) / unit, (valueOffset + packedWord * perWord) / unit];
        return packing ? [packedAt, valueAt] : [valueAt, packedAt];
      };
      for (const span of wordSpans(Math.floor(values / perWord), piece.count, packedOffset, valueOffset, perWord)) {
        if (span.vec4) {
          ctx.dispatch(encoder, vec4, PACKED_IO_LAYOUT.words([0, ...offsets(span.start, 4)]), storage, vec4Units(span.words));
        } else {
          const [dstAt, srcAt] = offsets(span.start, 1);
          ctx.dispatch(encoder, scalar, PACKED_IO_LAYOUT.words([values - span.start * perWord, dstAt!, srcAt!]), storage, span.words);
        }
      }
    }
  };
}

/**
 * The piece's packed words as scalar and vec4 spans: the vec4 span starts at the first packed
 * word where both streams sit on a vec4 boundary (the value side moves perWord words per packed
 * word) and takes whole vec4s of the `full` words whose values all exist; the rest is scalar.
 */
function wordSpans(full: number, words: number, packedOffset: number, valueOffset: number, perWord: number): WordSpan[] {
  const head = [0, 1, 2, 3].find((h) => (packedOffset + h) % 4 === 0 && (valueOffset + h * perWord) % 4 === 0);
  if (head === undefined || full < head + 4) return [{ start: 0, words, vec4: false }];
  const body = Math.floor((full - head) / 4) * 4;
  const spans: WordSpan[] = [
    { start: 0, words: head, vec4: false },
    { start: head, words: body, vec4: true },
    { start: head + body, words: words - head - body, vec4: false },
  ];
  return spans.filter((span) => span.words > 0);
}
