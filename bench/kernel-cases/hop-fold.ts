// A compressed ring hop's fold, acc = acc + decode(payload), for each hop codec: as one fused
// kernel (what lib/gpu/gpu-memory.ts records) and as the two kernels it replaced (decode into
// a temporary, then the reduce kernel's f32 sum), timed side by side in one run. Both count
// the same useful bytes (the payload read, acc read and written), so their GB/s ratio is the
// fused kernel's speed-up; the two-kernel form also writes and reads the temporary. The send
// side (fold, then encode for the next hop) likewise, fused where the codec has a kernel for it.
import { codecNamed } from '../../lib/collectives/codecs.js';
import { gpuHopCodec } from '../../lib/gpu/hop-codec.js';
import { encodeReduceAccumulate } from '../../lib/gpu/reduce.js';
import { region } from '../../lib/gpu/region.js';
import { caseWithBuffers, filledBuffer, type KernelCase, type KernelCaseList } from './case.js';

function foldCase(codecName: string, fused: boolean, payloadBytes: number): KernelCase {
  const count = payloadBytes / 4;
  const codec = codecNamed(codecName)!;
  const encoded = codec.encodedBytes(count, 'float32');
  const hop = gpuHopCodec(codec.format);
  return caseWithBuffers(`hop fold ${codecName} ${fused ? 'fused decode+accumulate' : 'decode, then reduce'}`, encoded + 2 * payloadBytes,
    (ctx) => [filledBuffer(ctx, encoded), filledBuffer(ctx, payloadBytes), ...(fused ? [] : [filledBuffer(ctx, payloadBytes)])],
    (ctx, encoder, [payload, acc, temporary]) => {
      if (fused) {
        hop.prepareDecodeAccumulate(ctx, region(payload!), region(acc!), count)(encoder);
      } else {
        hop.prepareDecode(ctx, region(payload!), region(temporary!), count)(encoder);
        encodeReduceAccumulate(ctx, encoder, region(acc!), [region(temporary!)], count, 'float32', 'sum');
      }
    });
}

/**
 * The send side, acc = acc + decode(recv) and then acc encoded for the next hop: as
 * prepareFoldEncode records it (one fused kernel for bf16, fp16, int8) and as decode+accumulate
 * then encode. Both count recv read, acc read and written and the new payload written.
 */
function foldEncodeCase(codecName: string, fused: boolean, payloadBytes: number): KernelCase {
  const count = payloadBytes / 4;
  const codec = codecNamed(codecName)!;
  const encoded = codec.encodedBytes(count, 'float32');
  const hop = gpuHopCodec(codec.format);
  const sizes = hop.streams(count);
  return caseWithBuffers(`hop send ${codecName} ${fused ? 'fused fold+encode' : 'fold, then encode'}`, 2 * encoded + 2 * payloadBytes,
    (ctx) => [filledBuffer(ctx, encoded), filledBuffer(ctx, payloadBytes), ...sizes.map((bytes) => filledBuffer(ctx, bytes))],
    (ctx, encoder, [payload, acc, ...out]) => {
      if (fused) {
        hop.prepareFoldEncode(ctx, region(payload!), region(acc!), count, out, undefined)(encoder);
      } else {
        hop.prepareDecodeAccumulate(ctx, region(payload!), region(acc!), count)(encoder);
        hop.prepareEncode(ctx, region(acc!), count, out, undefined)(encoder);
      }
    });
}

export const kernelCases: KernelCaseList = (payloadBytes) => [
  ...['bf16', 'fp16', 'int8', 'onebit'].flatMap((codec) => [foldCase(codec, false, payloadBytes), foldCase(codec, true, payloadBytes)]),
  ...['bf16', 'fp16', 'int8'].flatMap((codec) => [foldEncodeCase(codec, false, payloadBytes), foldEncodeCase(codec, true, payloadBytes)]),
];
