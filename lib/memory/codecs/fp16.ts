// fp16: IEEE half precision, 11 significant bits (relative error <= 2^-11 per encoding for
// magnitudes in [2^-14, 65504]; smaller ones lose bits as subnormals, larger become ±Inf).
import { halfCodec } from './half-codec.js';

// No relativeErrorBound: its bound holds only for inputs within ±65504, which a call does not show.
export const FP16_CODEC = halfCodec('fp16', 2, 'float16');
