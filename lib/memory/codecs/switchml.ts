// switchml: shared-exponent int32 (lib/cpu/switchml.ts, after SwitchML, NSDI 2021). Blocks of
// 256 elements agree on one exponent (a max-allreduce of 4 bytes per block), every value
// becomes an i32 that n ranks can sum exactly in any order, and the sum is dequantized once.
// Not smaller than float32 (4 bytes per element plus 4 per block); what it buys is an exact,
// order-independent sum that an integer-only switch can aggregate. Error per element
// <= n * 2^emax / (2M) + 3.0000002 * 2^-24 * |sum|, M = floor((2^31 - 1) / n).
import type { Codec } from '../codec.js';

export const SWITCHML_CODEC_BLOCK = 256;

export const SWITCHML_CODEC: Codec = {
  name: 'switchml', code: 5, identity: false, lossless: false, errorFeedback: false,
  encodedBytes: (count) => 4 * count + 4 * Math.ceil(count / SWITCHML_CODEC_BLOCK),
  format: { kind: 'integer', blockSize: SWITCHML_CODEC_BLOCK },
  // 2^emax <= 2·B (the block's largest |x_r|, itself <= B): n·2B/(2M) + 3.0000002·2^-24·B.
  relativeErrorBound: (ranks) => ranks / Math.floor((2 ** 31 - 1) / ranks) + 3.0000002 * 2 ** -24,
};
