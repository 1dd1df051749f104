// What int8 dequantize and onebit decompress share: an elementwise decode from a stream of
// packed words and one f32 scale per block into f32 values (shaders/block-decode.wgsl, with the
// family's decode_value). Each family declares its decode once and gets its prepare function.
import { checkBlockLayout } from '../cpu/blocks.js';
import { BLOCK_DIVISOR_BINDING_BYTES, blockDivisor } from './block-divisor.js';
import { codecVariant, joinedSource, packedWords, prepareCodecCall, type Piece, wordsPerBlock, wordsPerElement } from './codec.js';
import type { Prepare } from './kernel.js';
import { checkWorkgroupSize, type KernelOptions } from './options.js';
import type { GpuRegion } from './region.js';
import { UniformLayout } from './uniform-layout.js';
import blockDecodeSource from '../../shaders/block-decode.wgsl';

/** What a family's decode is: its source and prelude, its packed stream, its block rule. */
export interface BlockDecodeFamily<K extends string> {
  /** The name in error messages, e.g. "int8 dequantize". */
  readonly what: string;
  /** The family's WGSL source: it defines PACKED_PER_WORD and decode_value. */
  readonly familySource: string;
  readonly prelude: readonly string[];
  /** The packed stream's name in the family's arguments and error messages ("packed", "signs"). */
  readonly packed: K;
  readonly valuesPerWord: number;
  /** Block sizes must be multiples of this. */
  readonly blockMultiple: number;
}

/** A decode call: the packed stream under the family's name, one f32 scale per block, count f32 values out. */
export type BlockDecodeArgs<K extends string> = { readonly [name in K]: GpuRegion } & {
  readonly scales: GpuRegion;
  readonly dst: GpuRegion;
  readonly count: number;
  readonly blockSize: number;
  /** Fold the decoded values into dst instead of storing them: dst + decoded or dst − decoded, one f32 operation each. */
  readonly accumulate?: 'add' | 'subtract';
};

/** The decode entry points' uniform block; units are quads of 4 elements, count is in elements. */
const DECODE_LAYOUT = new UniformLayout('DecodeParams', [
  'count', 'block_magic', 'block_shift', 'sign_flip', 'packed_offset', 'scales_offset', 'dst_offset',
]);

/** Quads per thread. */
const QUADS_PER_THREAD = 2;

/** The family's prepare function. */
export function blockDecoder<K extends string>(family: BlockDecodeFamily<K>): Prepare<[args: BlockDecodeArgs<K>, options?: KernelOptions]> {
  const source = joinedSource(blockDecodeSource, family.familySource);
  const prelude = [...family.prelude, DECODE_LAYOUT.wgsl];
  return (ctx, args, options = {}) => {
    checkBlockLayout(family.what, args.count, args.blockSize, family.blockMultiple);
    const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize);
    const variant = (entryPoint: string) => ({
      ...codecVariant(source, entryPoint, workgroupSize, prelude, QUADS_PER_THREAD), ...(options.unitLayout && { unitLayout: options.unitLayout }),
    });
    const entry = args.accumulate ? 'decode_accumulate' : 'decode';
    const [scalar, vec4] = [variant(entry), variant(`${entry}_vec4`)];
    // Whole packed words per thread (each word and its scale read once) in the consecutive
    // layout, where a thread's stores may lie apart from its neighbours'; GPUs (coalesced) keep a
    // quad per unit, so that neighbouring threads store neighbouring vec4s. A unit is one word of
    // 16 or more values, else four words read as a vec4 (which needs the packed part on a vec4
    // boundary too); lavapipe ran both families fastest so (docs/PERFORMANCE.md, session 9).
    const wordsPerUnit = family.valuesPerWord >= 16 ? 1 : 4;
    const perWords = (options.unitLayout ?? ctx.unitLayout) === 'consecutive'
      ? { ...variant(`${wordsPerUnit === 1 ? 'decode_word' : 'decode_words'}${args.accumulate ? '_accumulate' : ''}`), unitsPerThread: 1 } : undefined;
    const wordsUnit = wordsPerUnit * family.valuesPerWord;
    // Whole quads into a dst on a vec4 boundary of its binding take one vec4 store per quad.
    const form = (piece: Piece): 'scalar' | 'quads' | 'words' => {
      if (piece.elements % 4 !== 0 || piece.wordOffsets[2]! % 4 !== 0) return 'scalar';
      const packedAligned = wordsPerUnit === 1 || piece.wordOffsets[0]! % 4 === 0;
      return perWords !== undefined && piece.elements % wordsUnit === 0 && packedAligned ? 'words' : 'quads';
    };
    const variants = { scalar, quads: vec4, words: perWords! };
    const divisor = blockDivisor(args.blockSize);
    return prepareCodecCall(ctx, {
      what: family.what,
      variant: (piece) => variants[form(piece)],
      count: args.count, blockSize: args.blockSize,
      streams: [
        { name: family.packed, region: args[family.packed], writable: false, words: packedWords(family.valuesPerWord) },
        { name: 'scales', region: args.scales, writable: false, words: wordsPerBlock(args.blockSize) },
        { name: 'dst', region: args.dst, writable: true, words: wordsPerElement },
      ],
      // Block indices without a division (divide_by_block), which needs fewer than 2^30 elements a piece.
      layout: DECODE_LAYOUT, fields: (piece) => [piece.elements, ...divisor, args.accumulate === 'subtract' ? 0x80000000 : 0],
      units: (piece) => (form(piece) === 'words' ? piece.elements / wordsUnit : Math.ceil(piece.elements / 4)), maxBindingBytes: Math.min(options.maxBindingBytes ?? Infinity, BLOCK_DIVISOR_BINDING_BYTES),
    });
  };
}
