// Casts f32 <-> float16/bfloat16 over a 64 MiB f32 side.
import type { HalfType } from '../../lib/cpu/cast.js';
import { encodeCastFromFloat32, encodeCastToFloat32 } from '../../lib/gpu/cast.js';
import type { KernelOptions } from '../../lib/gpu/options.js';
import { region } from '../../lib/gpu/region.js';
import { caseWithBuffers, filledBuffer, type KernelCase, type KernelCaseList } from './case.js';

/** `options.unitLayout` names itself in the case's name (the GPUs' layout timed on any device). */
function castCase(direction: 'narrow' | 'widen', half: HalfType, payloadBytes: number, options: KernelOptions = {}): KernelCase {
  const count = payloadBytes / 4;
  const name = direction === 'narrow' ? `cast float32 -> ${half}` : `cast ${half} -> float32`;
  return caseWithBuffers(`${name}${options.unitLayout ? ` (${options.unitLayout})` : ''}`, payloadBytes + payloadBytes / 2,
    (ctx) => [filledBuffer(ctx, payloadBytes), filledBuffer(ctx, payloadBytes / 2)],
    (ctx, encoder, [floats, halves]) => (direction === 'narrow'
      ? encodeCastFromFloat32(ctx, encoder, region(halves!), region(floats!), count, half, options)
      : encodeCastToFloat32(ctx, encoder, region(floats!), region(halves!), count, half, options)));
}

export const kernelCases: KernelCaseList = (payloadBytes) => [
  castCase('narrow', 'float16', payloadBytes),
  castCase('widen', 'float16', payloadBytes),
  // Widening in the coalesced layout takes one vec4 of f32 per unit (unpack_quads).
  castCase('widen', 'float16', payloadBytes, { unitLayout: 'coalesced' }),
  castCase('narrow', 'bfloat16', payloadBytes),
  castCase('widen', 'bfloat16', payloadBytes),
];
