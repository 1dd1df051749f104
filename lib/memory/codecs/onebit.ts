// onebit: blocks of 256 elements, one f32 scale (the mean |v|) and a sign bit per element, with
// error feedback (lib/cpu/onebit.ts): what an encoding loses is kept in a residual and added to
// the next call's input, so nothing is lost over steps, only delayed. (32 + 4) / 1024 = 0.035
// of float32's bytes.
import { blockPayloadBytes, type Codec } from '../codec.js';

export const ONEBIT_CODEC_BLOCK = 256;

export const ONEBIT_CODEC: Codec = {
  name: 'onebit', code: 4, identity: false, lossless: false, errorFeedback: 'always',
  encodedBytes: (count) => {
    const { scales, packed } = blockPayloadBytes(count, ONEBIT_CODEC_BLOCK, 32);
    return scales + packed;
  },
  format: { kind: 'blocks', family: 'onebit', blockSize: ONEBIT_CODEC_BLOCK, valuesPerWord: 32 },
};
