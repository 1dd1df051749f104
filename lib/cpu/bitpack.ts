// Bit packing: `count` values of `bits` bits each (1, 2, 4, 8 or 16), held one per u32, packed
// into u32 words little-end first (value i sits in word floor(i / (32/bits)) at bit
// (i mod (32/bits)) * bits), and back. Packing keeps only each value's low `bits` bits and
// writes all ceil(count / (32/bits)) words, zero-filling the unused lanes of the last one.
// Unpacking writes exactly `count` u32 values. Same layout as shaders/bitpack.wgsl.
import { invalidArgument } from '../errors.js';
import { checkCount } from './reduction.js';
import { checkViewLength, readElements, writeBackElements } from './views.js';

export type LaneBits = 1 | 2 | 4 | 8 | 16;

export const LANE_BITS: readonly LaneBits[] = [1, 2, 4, 8, 16];

export function checkLaneBits(what: string, bits: number): asserts bits is LaneBits {
  if (!(LANE_BITS as readonly number[]).includes(bits)) throw invalidArgument(`${what}: lane width ${bits} bits is not one of 1, 2, 4, 8, 16`);
}

/** Words that `count` packed values of `bits` bits occupy. */
export function packedWords(count: number, bits: LaneBits): number {
  return Math.ceil(count / (32 / bits));
}

export function packBits(dst: ArrayBufferView, src: ArrayBufferView, count: number, bits: LaneBits): void {
  const { words, perWord, mask } = checkCall('packBits', dst, src, count, bits, 'pack');
  const values = readElements('uint32', src, count) as Uint32Array;
  const packed = readElements('uint32', dst, words) as Uint32Array;
  for (let w = 0; w < words; w++) {
    const first = w * perWord;
    const last = Math.min(count, first + perWord);
    let word = 0;
    for (let i = first; i < last; i++) word |= (values[i]! & mask) << ((i - first) * bits);
    packed[w] = word;
  }
  writeBackElements(dst, packed);
}

export function unpackBits(dst: ArrayBufferView, src: ArrayBufferView, count: number, bits: LaneBits): void {
  const { words, perWord, mask } = checkCall('unpackBits', dst, src, count, bits, 'unpack');
  const packed = readElements('uint32', src, words) as Uint32Array;
  const values = readElements('uint32', dst, count) as Uint32Array;
  for (let i = 0; i < count; i++) values[i] = (packed[(i / perWord) | 0]! >>> ((i % perWord) * bits)) & mask;
  writeBackElements(dst, values);
}

/** Checks a call's arguments (src's length before dst's) and returns the layout both directions walk. */
function checkCall(
  what: string, dst: ArrayBufferView, src: ArrayBufferView, count: number, bits: LaneBits, direction: 'pack' | 'unpack',
): { words: number; perWord: number; mask: number } {
  checkLaneBits(what, bits);
  checkCount(what, count);
  const words = packedWords(count, bits);
  const packing = direction === 'pack';
  checkViewLength(`${what} src`, src, packing ? count * 4 : words * 4);
  checkViewLength(`${what} dst`, dst, packing ? words * 4 : count * 4);
  return { words, perWord: 32 / bits, mask: (1 << bits) - 1 };
}
