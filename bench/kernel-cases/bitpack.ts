// Bit packing over 64 MiB of u32 values (the unpacked side).
import { packedWords, type LaneBits } from '../../lib/cpu/bitpack.js';
import { encodePackBits, encodeUnpackBits } from '../../lib/gpu/bitpack.js';
import { region } from '../../lib/gpu/region.js';
import { caseWithBuffers, filledBuffer, type KernelCase, type KernelCaseList } from './case.js';

function bitpackCase(direction: 'pack' | 'unpack', bits: LaneBits, payloadBytes: number): KernelCase {
  const count = payloadBytes / 4;
  const packedBytes = packedWords(count, bits) * 4;
  return caseWithBuffers(`${direction} ${bits}-bit lanes`, payloadBytes + packedBytes,
    (ctx) => [filledBuffer(ctx, payloadBytes), filledBuffer(ctx, packedBytes)],
    (ctx, encoder, [values, packed]) => (direction === 'pack'
      ? encodePackBits(ctx, encoder, region(packed!), region(values!), count, bits)
      : encodeUnpackBits(ctx, encoder, region(values!), region(packed!), count, bits)));
}

export const kernelCases: KernelCaseList = (payloadBytes) => [
  bitpackCase('pack', 1, payloadBytes),
  bitpackCase('unpack', 1, payloadBytes),
  bitpackCase('pack', 8, payloadBytes),
  bitpackCase('unpack', 8, payloadBytes),
  bitpackCase('pack', 16, payloadBytes),
];
