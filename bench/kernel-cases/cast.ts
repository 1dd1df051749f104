// Casts f32 <-> float16/bfloat16 over a 64 MiB f32 side.
import type { HalfType } from '../../lib/cpu/cast.js';
import { encodeCastFromFloat32, encodeCastToFloat32 } from '../../lib/gpu/cast.js';
import { region } from '../../lib/gpu/region.js';
import { filledBuffer, type KernelCase, type KernelCaseList } from './case.js';

function castCase(direction: 'narrow' | 'widen', half: HalfType, payloadBytes: number): KernelCase {
  const count = payloadBytes / 4;
  return {
    name: direction === 'narrow' ? `cast float32 -> ${half}` : `cast ${half} -> float32`,
    bytesMoved: payloadBytes + payloadBytes / 2,
    setup(ctx) {
      const floats = filledBuffer(ctx, payloadBytes);
      const halves = filledBuffer(ctx, payloadBytes / 2);
      return {
        record: (encoder) => (direction === 'narrow'
          ? encodeCastFromFloat32(ctx, encoder, region(halves), region(floats), count, half)
          : encodeCastToFloat32(ctx, encoder, region(floats), region(halves), count, half)),
        dispose: () => { floats.destroy(); halves.destroy(); },
      };
    },
  };
}

export const kernelCases: KernelCaseList = (payloadBytes) => [
  castCase('narrow', 'float16', payloadBytes),
  castCase('widen', 'float16', payloadBytes),
  castCase('narrow', 'bfloat16', payloadBytes),
  castCase('widen', 'bfloat16', payloadBytes),
];
