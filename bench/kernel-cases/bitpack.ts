// Bit packing over 64 MiB of u32 values (the unpacked side).
import { packedWords, type LaneBits } from '../../lib/cpu/bitpack.js';
import { encodePackBits, encodeUnpackBits } from '../../lib/gpu/bitpack.js';
import type { KernelOptions } from '../../lib/gpu/options.js';
import { region } from '../../lib/gpu/region.js';
import { caseWithBuffers, filledBuffer, type KernelCase, type KernelCaseList } from './case.js';

/** `options.unitLayout` names itself in the case's name (the GPUs' layout timed on any device). */
function bitpackCase(direction: 'pack' | 'unpack', bits: LaneBits, payloadBytes: number, options: KernelOptions = {}): KernelCase {
  const count = payloadBytes / 4;
  const packedBytes = packedWords(count, bits) * 4;
  return caseWithBuffers(`${direction} ${bits}-bit lanes${options.unitLayout ? ` (${options.unitLayout})` : ''}`, payloadBytes + packedBytes,
    (ctx) => [filledBuffer(ctx, payloadBytes), filledBuffer(ctx, packedBytes)],
    (ctx, encoder, [values, packed]) => (direction === 'pack'
      ? encodePackBits(ctx, encoder, region(packed!), region(values!), count, bits, options)
      : encodeUnpackBits(ctx, encoder, region(values!), region(packed!), count, bits, options)));
}

export const kernelCases: KernelCaseList = (payloadBytes) => [
  bitpackCase('pack', 1, payloadBytes),
  bitpackCase('unpack', 1, payloadBytes),
  // Unpacking in the coalesced layout takes one vec4 of values per unit (unpack_quads).
  bitpackCase('unpack', 1, payloadBytes, { unitLayout: 'coalesced' }),
  bitpackCase('pack', 8, payloadBytes),
  bitpackCase('unpack', 8, payloadBytes),
  bitpackCase('pack', 16, payloadBytes),
];
