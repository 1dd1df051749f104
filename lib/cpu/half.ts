// 16-bit floats on the CPU: conversions between f32 and IEEE binary16 (float16) and between
// f32 and bfloat16, on raw bits. Narrowing rounds to nearest, ties to even (RNE), the rounding
// the GPU kernels implement on u32 words (shaders/half.wgsl) so both sides agree bit for bit.
//
// - Overflow rounds to ±Inf (f16 above 65520, bf16 above the f32 range RNE can carry up).
// - Values below half the smallest f16 subnormal (2^-25) round to ±0; subnormals are produced.
// - NaN stays NaN with its sign and its top payload bits, quiet bit forced on (a payload
//   that would truncate to zero must not turn the NaN into Inf).
// - Widening is exact (every f16 and bf16 value is an f32 value).
//
// Functions taking a JS number first round it to f32 (Math.fround): a value is narrowed from
// its f32 representation, never straight from f64, as on the GPU where all math is f32.

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

export function f32ToBits(value: number): number {
  f32[0] = value;
  return f32Bits[0]!;
}

export function bitsToF32(bits: number): number {
  f32Bits[0] = bits;
  return f32[0]!;
}

/** f32 bits -> f16 bits, round to nearest even. */
export function f32BitsToF16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 | (mantissa >>> 13) : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 31) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal result: the implicit leading 1 becomes explicit and is shifted out with the rest.
    if (halfExponent < -10) return sign;
    const significand = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    const kept = significand >>> shift;
    const rest = significand & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    // A carry out of the subnormal range yields the smallest normal (0x400), which is right.
    return sign | (rest > halfway || (rest === halfway && (kept & 1) !== 0) ? kept + 1 : kept);
  }
  const kept = (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry into the exponent is right too, up to 0x7c00 (Inf) for values beyond 65519.
  return sign | (rest > 0x1000 || (rest === 0x1000 && (kept & 1) !== 0) ? kept + 1 : kept);
}

/** f16 bits -> f32 bits (exact). */
export function f16BitsToF32Bits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0;
  // Subnormal f16: normalise; the value 2^-24 * mantissa is a normal f32.
  const leading = Math.clz32(mantissa) - 21; // shifts that bring the top set bit to bit 10
  return (sign | ((113 - leading) << 23) | (((mantissa << leading) & 0x3ff) << 13)) >>> 0;
}

/** f32 bits -> bf16 bits, round to nearest even. */
export function f32BitsToBf16Bits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bf16 bits -> f32 bits (exact). */
export function bf16BitsToF32Bits(half: number): number {
  return (half << 16) >>> 0;
}

export function f32ToF16Bits(value: number): number {
  return f32BitsToF16Bits(f32ToBits(value));
}

export function f16BitsToF32(half: number): number {
  return bitsToF32(f16BitsToF32Bits(half));
}

export function f32ToBf16Bits(value: number): number {
  return f32BitsToBf16Bits(f32ToBits(value));
}

export function bf16BitsToF32(half: number): number {
  return bitsToF32(bf16BitsToF32Bits(half));
}

let f16Table: Uint32Array | undefined;

/** f32 bits of all 65536 f16 values (256 KiB, built on first use): widening by lookup. */
export function f16ToF32BitsTable(): Uint32Array {
  if (!f16Table) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h);
  }
  return f16Table;
}
