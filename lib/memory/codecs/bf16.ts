// bf16: float32's range with 8 significant bits (relative error <= 2^-8 per encoding); half the bytes.
import { halfCodec } from './half-codec.js';

export const BF16_CODEC = halfCodec('bf16', 1, 'bfloat16');
