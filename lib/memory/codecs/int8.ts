// int8: blocks of 256 elements, one f32 scale (absmax / 127) and a signed byte per element
// (lib/cpu/int8.ts). Error per encoding <= absmax_b / 254 + 3.0000002 * 2^-24 * absmax_b;
// (256 + 4) / 1024 = 0.254 of float32's bytes. Error feedback when the call names a key
// (int8QuantizeWithFeedback in lib/cpu/int8.ts): the residual carries exactly what was lost.
import { blockPayloadBytes, type Codec } from '../codec.js';

export const INT8_CODEC_BLOCK = 256;

export const INT8_CODEC: Codec = {
  name: 'int8', code: 3, identity: false, lossless: false, errorFeedback: 'keyed',
  encodedBytes: (count) => {
    const { scales, packed } = blockPayloadBytes(count, INT8_CODEC_BLOCK, 4);
    return scales + packed;
  },
  format: { kind: 'blocks', family: 'int8', blockSize: INT8_CODEC_BLOCK, valuesPerWord: 4 },
  // Per allreduce: n·(B/254 + 2^-22·B) (+ n·2^-23·A), B the call's largest Σ_r |x_r|.
  relativeErrorBound: (ranks) => ranks * (1 / 254 + 2 ** -22 + 2 ** -23),
};
