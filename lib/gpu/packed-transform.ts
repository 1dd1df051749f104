// What bitpack.ts and cast.ts share: a kernel that converts between a stream of 32-bit values
// and a stream of packed u32 words holding `valuesPerWord` of them (bit lanes, 16-bit halves).
// The work is counted in packed words; each piece binds its words and the values they hold,
// reading src through dst's binding when both share a buffer (see bind-with-dst.ts; the variant
// then declares no src binding, input-bindings.ts). The uniform block shaders/packed-io.wgsl
// reads is declared here (PACKED_IO_LAYOUT).
import { bindWithDst, readsThroughDst, sharedSpanBytes, type Slice } from './bind-with-dst.js';
import type { GpuContext, KernelVariant } from './context.js';
import { inputBindingsPrelude, inputStorage, WORD_VIEW } from './input-bindings.js';
import { splitIntoPieces } from './pieces.js';
import type { Recorder } from './kernel.js';
import { checkRegion, type GpuRegion } from './region.js';
import { UniformLayout } from './uniform-layout.js';

export interface PackedTransform {
  /** The caller's name in error messages, e.g. "packBits". */
  readonly what: string;
  /** The family's variant; src's binding and reader are added to its prelude here. */
  readonly variant: KernelVariant;
  /** 'pack': src holds the values, dst the packed words; 'unpack': the other way round. */
  readonly direction: 'pack' | 'unpack';
  readonly dst: GpuRegion;
  readonly src: GpuRegion;
  /** Values (one per u32 on the unpacked side). */
  readonly count: number;
  readonly valuesPerWord: number;
  readonly maxBindingBytes?: number | undefined;
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
  const variant: KernelVariant = {
    ...t.variant, prelude: [...t.variant.prelude, PACKED_IO_LAYOUT.wgsl, ...inputBindingsPrelude(1, srcViaDst, [WORD_VIEW])],
  };
  return (encoder) => {
    for (const piece of pieces) {
      const values = Math.min(piece.count * perWord, t.count - piece.start * perWord);
      const packedSlice = (r: GpuRegion): Slice => ({ region: r, skip: piece.start * 4, bytes: piece.count * 4 });
      const valueSlice = (r: GpuRegion): Slice => ({ region: r, skip: piece.start * perWord * 4, bytes: values * 4 });
      const bound = packing ? bindWithDst(ctx, packedSlice(t.dst), [valueSlice(t.src)]) : bindWithDst(ctx, valueSlice(t.dst), [packedSlice(t.src)]);
      const params = PACKED_IO_LAYOUT.words([values, bound.dst.wordOffset, bound.inputs[0]!.wordOffset]);
      ctx.dispatch(encoder, variant, params, inputStorage(bound), piece.count);
    }
  };
}
