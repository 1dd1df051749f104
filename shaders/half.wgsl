// 16-bit float codecs on u32 bits, shared by the reduce and cast families (prepended to their
// source by lib/gpu). Integer operations only: no float arithmetic (which WGSL lets flush
// subnormals) and no pack2x16float (whose rounding is implementation-defined), so results are
// round-to-nearest-even everywhere and bit-identical to lib/cpu/half.ts, which documents the
// rules (overflow to Inf, subnormals produced, NaN kept quiet with its sign).

fn f32_bits_to_f16_bits(bits: u32) -> u32 {
  let sign = (bits >> 16u) & 0x8000u;
  let exponent = (bits >> 23u) & 0xffu;
  let mantissa = bits & 0x7fffffu;
  if (exponent == 0xffu) {
    return sign | 0x7c00u | select(0u, 0x200u | (mantissa >> 13u), mantissa != 0u);
  }
  let half_exponent = i32(exponent) - 112;
  if (half_exponent >= 31) { return sign | 0x7c00u; }
  if (half_exponent <= 0) {
    // Subnormal result: make the implicit 1 explicit and shift it out with the rest.
    if (half_exponent < -10) { return sign; }
    let significand = mantissa | 0x800000u;
    let shift = u32(14 - half_exponent);
    let kept = significand >> shift;
    let rest = significand & ((1u << shift) - 1u);
    let halfway = 1u << (shift - 1u);
    return sign | (kept + select(0u, 1u, rest > halfway || (rest == halfway && (kept & 1u) != 0u)));
  }
  // A carry out of the mantissa moves into the exponent, up to Inf: that is the right result.
  let kept = (u32(half_exponent) << 10u) | (mantissa >> 13u);
  let rest = mantissa & 0x1fffu;
  return sign | (kept + select(0u, 1u, rest > 0x1000u || (rest == 0x1000u && (kept & 1u) != 0u)));
}

fn f16_bits_to_f32_bits(half: u32) -> u32 {
  let sign = (half & 0x8000u) << 16u;
  let exponent = (half >> 10u) & 0x1fu;
  let mantissa = half & 0x3ffu;
  if (exponent == 0x1fu) { return sign | 0x7f800000u | (mantissa << 13u); }
  if (exponent != 0u) { return sign | ((exponent + 112u) << 23u) | (mantissa << 13u); }
  if (mantissa == 0u) { return sign; }
  // Subnormal f16: a normal f32; shift the top set bit up to the implicit position.
  let leading = countLeadingZeros(mantissa) - 21u;
  return sign | ((113u - leading) << 23u) | (((mantissa << leading) & 0x3ffu) << 13u);
}

fn f32_bits_to_bf16_bits(bits: u32) -> u32 {
  if ((bits & 0x7fffffffu) > 0x7f800000u) { return ((bits >> 16u) | 0x40u) & 0xffffu; }
  return (bits + 0x7fffu + ((bits >> 16u) & 1u)) >> 16u;
}

fn bf16_bits_to_f32_bits(half: u32) -> u32 {
  return half << 16u;
}
