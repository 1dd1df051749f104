// bf16: float32's range with 8 significant bits (relative error <= 2^-8 per encoding); half the bytes.
import { halfCodec } from './half-codec.js';

// Per allreduce: n·2^-8·A (+ n·2^-23·A), A = Σ_r |x_r| <= the call's largest.
export const BF16_CODEC = halfCodec('bf16', 1, 'bfloat16', (ranks) => ranks * (2 ** -8 + 2 ** -23));
