// Casts f32 <-> float16/bfloat16 over a 64 MiB f32 side.
import type { HalfType } from '../../lib/cpu/cast.js';
import { encodeCastFromFloat32, encodeCastToFloat32 } from '../../lib/gpu/cast.js';
import { region } from '../../lib/gpu/region.js';
import { caseWithBuffers, filledBuffer, type KernelCase, type KernelCaseList } from './case.js';

function castCase(direction: 'narrow' | 'widen', half: HalfType, payloadBytes: number): KernelCase {
  const count = payloadBytes / 4;
  return caseWithBuffers(direction === 'narrow' ? `cast float32 -> ${half}` : `cast ${half} -> float32`, payloadBytes + payloadBytes / 2,
    (ctx) => [filledBuffer(ctx, payloadBytes), filledBuffer(ctx, payloadBytes / 2)],
    (ctx, encoder, [floats, halves]) => (direction === 'narrow'
      ? encodeCastFromFloat32(ctx, encoder, region(halves!), region(floats!), count, half)
      : encodeCastToFloat32(ctx, encoder, region(floats!), region(halves!), count, half)));
}

export const kernelCases: KernelCaseList = (payloadBytes) => [
  castCase('narrow', 'float16', payloadBytes),
  castCase('widen', 'float16', payloadBytes),
  castCase('narrow', 'bfloat16', payloadBytes),
  castCase('widen', 'bfloat16', payloadBytes),
];
