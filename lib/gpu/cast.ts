// Casts on the GPU between f32 and float16/bfloat16 packed two per u32 word (RNE when
// narrowing, exact when widening), bit-identical to lib/cpu/cast.ts. prepare* check a call and
// return its recorder; encode* and gpu* are its two forms (kernel.ts). Offsets are byte offsets,
// multiples of 4; the 16-bit side occupies ceil(count/2) words and an odd count leaves the last
// word's upper half untouched. src and dst may share a buffer if they do not overlap.
import { invalidArgument } from '../errors.js';
import { isHalfType, type HalfType } from '../cpu/cast.js';
import { checkCount } from '../cpu/reduction.js';
import type { GpuContext, KernelVariant } from './context.js';
import { kernelForms, type Recorder } from './kernel.js';
import { checkWorkgroupSize, type KernelOptions } from './options.js';
import { preparePackedTransform } from './packed-transform.js';
import type { GpuRegion } from './region.js';
import packedIoSource from '../../shaders/packed-io.wgsl';
import halfSource from '../../shaders/half.wgsl';
import halfLanesSource from '../../shaders/half-lanes.wgsl';
import castSource from '../../shaders/cast.wgsl';

const SOURCE = `${packedIoSource}\n${halfSource}\n${halfLanesSource}\n${castSource}`;

/** widen_accumulate adds the widened values into dst (a ring hop's decode + accumulate). */
type Direction = 'narrow' | 'widen' | 'widen_accumulate';

/** Packed words per thread: a thread per word is what lavapipe runs slowest (cost per invocation). */
const WORDS_PER_THREAD = 4;

/** Checks a cast in one direction and returns what records it. */
function preparer(direction: Direction) {
  const what = { narrow: 'castFromFloat32', widen: 'castToFloat32', widen_accumulate: 'castToFloat32Accumulate' }[direction];
  return (ctx: GpuContext, dst: GpuRegion, src: GpuRegion, count: number, half: HalfType, options: KernelOptions = {}): Recorder => {
    if (!isHalfType(half)) throw invalidArgument(`${what}: unknown 16-bit type ${String(half)} (expected float16 or bfloat16)`);
    checkCount(what, count);
    const workgroupSize = checkWorkgroupSize(ctx, options.workgroupSize);
    const variant: KernelVariant = {
      source: SOURCE, entryPoint: direction, workgroupSize, unitsPerThread: WORDS_PER_THREAD,
      prelude: [`const HALF = ${half === 'float16' ? 'HALF_F16' : 'HALF_BF16'};`],
      ...(options.unitLayout && { unitLayout: options.unitLayout }),
    };
    return preparePackedTransform(ctx, {
      what, variant, direction: direction === 'narrow' ? 'pack' : 'unpack', dst, src, count, valuesPerWord: 2,
      maxBindingBytes: options.maxBindingBytes, ...(direction === 'widen_accumulate' && { vec4EntryPoint: 'widen_accumulate_vec4' }),
    });
  };
}

/** f32 values in src to `half` (the last parameter) in dst, rounding to nearest even. */
export const prepareCastFromFloat32 = preparer('narrow');
/** `half` values (the last parameter) in src to f32 in dst, exactly. */
export const prepareCastToFloat32 = preparer('widen');
/** dst[i] = dst[i] + the `half` value src[i] (one f32 add): castToFloat32 then a sum, in one pass. */
export const prepareCastToFloat32Accumulate = preparer('widen_accumulate');
export const { encode: encodeCastFromFloat32, run: gpuCastFromFloat32 } = kernelForms(prepareCastFromFloat32);
export const { encode: encodeCastToFloat32, run: gpuCastToFloat32 } = kernelForms(prepareCastToFloat32);
export const { run: gpuCastToFloat32Accumulate } = kernelForms(prepareCastToFloat32Accumulate);
