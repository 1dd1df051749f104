// Bit packing on the GPU: u32 values of 1, 2, 4, 8 or 16 bits packed into u32 words and back,
// with the layout of lib/cpu/bitpack.ts (bit-identical). prepare* check a call and return its
// recorder; encode* and gpu* are its two forms (kernel.ts). Offsets are byte offsets, multiples
// of 4; src and dst may share a buffer if they do not overlap.
import { checkLaneBits, type LaneBits } from '../cpu/bitpack.js';
import { checkCount } from '../cpu/reduction.js';
import type { GpuContext, KernelVariant } from './context.js';
import { kernelForms, type Recorder } from './kernel.js';
import { checkWorkgroupSize, type KernelOptions } from './options.js';
import { preparePackedTransform } from './packed-transform.js';
import type { GpuRegion } from './region.js';
import packedIoSource from '../../shaders/packed-io.wgsl';
import bitpackSource from '../../shaders/bitpack.wgsl';

const SOURCE = `${packedIoSource}\n${bitpackSource}`;

type Direction = 'pack' | 'unpack';

/** Checks a pack or unpack and returns what records it. */
function preparer(direction: Direction) {
  const what = direction === 'pack' ? 'packBits' : 'unpackBits';
  return (ctx: GpuContext, dst: GpuRegion, src: GpuRegion, count: number, bits: LaneBits, options: KernelOptions = {}): Recorder => {
    checkLaneBits(what, bits);
    checkCount(what, count);
    const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize);
    const perWord = 32 / bits;
    const variant: KernelVariant = {
      source: SOURCE, entryPoint: direction, workgroupSize, prelude: [`const LANE_BITS = ${bits}u;`],
      // Packed words per thread: enough that each thread moves 16 values or more.
      unitsPerThread: Math.max(1, 16 / perWord),
      ...(options.unitLayout && { unitLayout: options.unitLayout }),
    };
    return preparePackedTransform(ctx, {
      what, variant, direction, dst, src, count, valuesPerWord: perWord, maxBindingBytes: options.maxBindingBytes,
    });
  };
}

/** count values of `bits` bits each (u32s in src) packed into dst. */
export const preparePackBits = preparer('pack');
/** count values of `bits` bits each unpacked from the words in src into u32s in dst. */
export const prepareUnpackBits = preparer('unpack');
export const { encode: encodePackBits, run: gpuPackBits } = kernelForms(preparePackBits);
export const { encode: encodeUnpackBits, run: gpuUnpackBits } = kernelForms(prepareUnpackBits);
