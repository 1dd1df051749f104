// 16-bit float codecs on u32 bits, shared by the reduce and cast families (prepended to their
// source by lib/gpu). Integer operations, plus one float multiply that is exact with normal
// operands and result (f16 subnormals widened); no other float arithmetic (which WGSL lets flush
// subnormals) and no pack2x16float (whose rounding is implementation-defined), so results are
// round-to-nearest-even everywhere and bit-identical to lib/cpu/half.ts, which documents the
// rules (overflow to Inf, subnormals produced, NaN kept quiet with its sign).

// The narrowing functions are straight-line: each case (normal, subnormal, Inf/NaN, overflow) is
// computed and the answer picked with select, with non-short-circuit & and | on bools, which
// lavapipe ran faster than branches (the cast to f16 ~65% -> ~83% of the copy kernel's CPU time
// ratio). The widening keeps its branches (see there).

// Normal results round the f32 bits shifted right by 13 with the exponent rebased; subnormal ones
// (half_exponent <= 0) round the significand with its implicit bit shifted right by
// 14 - half_exponent, capped at 25: anything below 2^-25 rounds to a zero either way (the
// significand is below 2^24, the halfway point at 25), and the shift stays below 32.
fn f32_bits_to_f16_bits(bits: u32) -> u32 {
  let sign = (bits >> 16u) & 0x8000u;
  let exponent = (bits >> 23u) & 0xffu;
  let mantissa = bits & 0x7fffffu;
  let half_exponent = i32(exponent) - 112;
  let normal = half_exponent > 0;
  let value = select(mantissa | 0x800000u, (u32(half_exponent) << 23u) | mantissa, normal);
  let shift = select(u32(min(14 - half_exponent, 25)), 13u, normal);
  // Round to nearest even in one add: just under half a unit of the last kept bit, plus that
  // bit, carries into it exactly when the dropped bits are above half, or at half with the kept
  // bit odd (value < 2^31, so no wrap). A carry out of the mantissa moves into the exponent, up
  // to Inf: that is the right result.
  let rounded = (value + ((1u << (shift - 1u)) - 1u) + ((value >> shift) & 1u)) >> shift;
  let nonfinite = 0x7c00u | select(0u, 0x200u | (mantissa >> 13u), mantissa != 0u);
  return sign | select(select(rounded, 0x7c00u, half_exponent >= 31), nonfinite, exponent == 0xffu);
}

// Branches here, unlike the narrowing: with the common case (a normal f16) first, lavapipe
// skips the other sides when no lane of a SIMD batch takes them, and the select form measured
// slower there in a hop's fused decode + accumulate (cast.wgsl widen_accumulate_vec4).
fn f16_bits_to_f32_bits(half: u32) -> u32 {
  let sign = (half & 0x8000u) << 16u;
  let exponent = (half >> 10u) & 0x1fu;
  let mantissa = half & 0x3ffu;
  if (exponent - 1u < 0x1eu) { return sign | ((exponent + 112u) << 23u) | (mantissa << 13u); }
  if (exponent == 0x1fu) { return sign | 0x7f800000u | (mantissa << 13u); }
  // Subnormal f16 (or zero): mantissa * 2^-24, a normal f32. Both steps are exact everywhere:
  // the integer (below 2^10) converts exactly, and the product by a power of two is
  // representable and normal (no flush-to-zero can touch it, nor can contraction into an FMA
  // change an exact product). Cheaper than countLeadingZeros, which CPU adapters emulate per lane.
  return sign | bitcast<u32>(f32(i32(mantissa)) * 0x1p-24f);
}

fn f32_bits_to_bf16_bits(bits: u32) -> u32 {
  let quiet_nan = ((bits >> 16u) | 0x40u) & 0xffffu;
  // Wraps only for negative NaNs, which the select discards.
  let rounded = (bits + 0x7fffu + ((bits >> 16u) & 1u)) >> 16u;
  return select(rounded, quiet_nan, (bits & 0x7fffffffu) > 0x7f800000u);
}

fn bf16_bits_to_f32_bits(half: u32) -> u32 {
  return half << 16u;
}
