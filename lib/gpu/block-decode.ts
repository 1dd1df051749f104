// What int8 dequantize and onebit decompress share: an elementwise decode from a stream of
// packed words and one f32 scale per block into f32 values (shaders/block-decode.wgsl, with the
// family's decode_value). Arguments are checked first: a bad call throws InvalidArgument and
// records nothing.
import type { GpuContext } from './context.js';
import { codecVariant, ELEMENTS_PER_THREAD, joinedSource, packedWords, planPieces, wordsPerBlock, wordsPerElement, type Recorder } from './codec.js';
import { checkWorkgroupSize, type KernelOptions } from './options.js';
import type { GpuRegion } from './region.js';
import blockDecodeSource from '../../shaders/block-decode.wgsl';

export interface BlockDecode {
  /** The caller's name in error messages, e.g. "int8 dequantize". */
  readonly what: string;
  /** The family's WGSL source: it defines PACKED_PER_WORD and decode_value. */
  readonly familySource: string;
  readonly prelude: readonly string[];
  /** The packed stream, named as the family's API names it ("packed", "signs"). */
  readonly packed: { readonly name: string; readonly region: GpuRegion; readonly valuesPerWord: number };
  readonly scales: GpuRegion;
  /** Receives count f32 values. */
  readonly dst: GpuRegion;
  readonly count: number;
  readonly blockSize: number;
}

export function prepareBlockDecode(ctx: GpuContext, d: BlockDecode, options: KernelOptions): Recorder {
  const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize);
  const pieces = planPieces(ctx, d.what, d.count, d.blockSize, [
    { name: d.packed.name, region: d.packed.region, writable: false, words: packedWords(d.packed.valuesPerWord) },
    { name: 'scales', region: d.scales, writable: false, words: wordsPerBlock(d.blockSize) },
    { name: 'dst', region: d.dst, writable: true, words: wordsPerElement },
  ], options.maxBindingBytes);
  const variant = codecVariant(joinedSource(blockDecodeSource, d.familySource), 'decode', workgroupSize, d.prelude, ELEMENTS_PER_THREAD);
  return (encoder) => {
    for (const piece of pieces) {
      const params = new Uint32Array([d.blockSize, ...piece.wordOffsets]);
      ctx.dispatch(encoder, variant, params, piece.storage, piece.elements);
    }
  };
}
