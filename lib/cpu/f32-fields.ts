// The fields of an f32 bit pattern, as the quantization codecs read them. Working on the bits
// (integer arithmetic) instead of on float values is what makes the codecs bit-exact between
// the CPU and WGSL: WGSL leaves f32 division, int-to-float rounding, NaN/Inf arithmetic and
// subnormal handling (many GPUs flush them) to the implementation, while integer operations
// and the bit patterns themselves are the same everywhere. shaders/quantize-common.wgsl holds
// the WGSL twins of these functions.
//
// Every finite f32 is |x| = significand * 2^(effectiveExponent - 150), with a 24-bit integer
// significand: subnormals (and zero) count as biased exponent 1 without the implicit bit.

export const F32_SIGN = 0x80000000;
export const F32_EXPONENT = 0x7f800000;
export const F32_MANTISSA = 0x007fffff;
/** The NaN every codec writes (quiet, positive), so outputs compare bit for bit. */
export const F32_QUIET_NAN = 0x7fc00000;
/** Magnitude of the smallest normal f32, 2^-126. */
export const F32_MIN_NORMAL = 2 ** -126;

export function isNonFiniteBits(bits: number): boolean {
  return (bits & F32_EXPONENT) === F32_EXPONENT;
}

/** Biased exponent with zeros and subnormals counted as 1 (so the scaling below is uniform). */
export function effectiveExponent(bits: number): number {
  return Math.max((bits >>> 23) & 0xff, 1);
}

/** The 24-bit integer significand: mantissa plus the implicit bit of normal numbers. */
export function significand(bits: number): number {
  const mantissa = bits & F32_MANTISSA;
  return (bits & F32_EXPONENT) === 0 ? mantissa : mantissa | 0x800000;
}

/** Zeros and subnormals become +0 (see flushToZero). */
export function flushBits(bits: number): number {
  return (bits & F32_EXPONENT) === 0 ? 0 : bits;
}

/**
 * Subnormal values (and -0) become +0. Codecs whose float arithmetic could meet subnormals
 * apply this to inputs and results, so GPUs that flush subnormals (or treat them as zero in
 * inputs) compute exactly what the CPU computes.
 */
export function flushToZero(value: number): number {
  return Math.abs(value) < F32_MIN_NORMAL ? 0 : value;
}

/** The bit patterns of an f32 array (same memory): codecs read and write NaNs through it. */
export function bitsOf(array: Float32Array): Uint32Array {
  return new Uint32Array(array.buffer, array.byteOffset, array.length);
}
