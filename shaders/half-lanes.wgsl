// One 16-bit float type chosen by a constant: the prelude declares `const HALF = HALF_F16;` or
// `const HALF = HALF_BF16;`, and to_half / from_half convert f32 bits to and from it through
// shaders/half.wgsl (prepended before this). Shared by cast.wgsl and half-fold-encode.wgsl.

const HALF_F16 = 0u;
const HALF_BF16 = 1u;

fn to_half(bits: u32) -> u32 {
  if (HALF == HALF_F16) { return f32_bits_to_f16_bits(bits); }
  return f32_bits_to_bf16_bits(bits);
}

fn from_half(half: u32) -> u32 {
  if (HALF == HALF_F16) { return f16_bits_to_f32_bits(half); }
  return bf16_bits_to_f32_bits(half);
}
