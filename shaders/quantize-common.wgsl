// Shared by the quantization families (switchml.wgsl, int8.wgsl, onebit.wgsl); lib/gpu/codec.ts
// prepends it to their source. These are the WGSL twins of lib/cpu/f32-fields.ts and
// lib/cpu/blocks.ts: the codecs read f32 values through their bit patterns, because WGSL
// leaves f32 division, rounding int-to-float conversions, NaN/Inf arithmetic and subnormals to
// the implementation, while integer operations are exact everywhere.
//
// Every buffer is declared as words (u32/i32) and floats are bitcast, so NaN payloads and
// signed zeros travel unchanged.

const F32_SIGN = 0x80000000u;
const F32_EXPONENT = 0x7f800000u;
const F32_MANTISSA = 0x007fffffu;
const F32_QUIET_NAN = 0x7fc00000u;

fn is_nonfinite_bits(bits: u32) -> bool {
  return (bits & F32_EXPONENT) == F32_EXPONENT;
}

// |x| = significand(x) * 2^(effective_exponent(x) - 150) for every finite x (zeros and
// subnormals count as biased exponent 1 without the implicit bit).
fn effective_exponent(bits: u32) -> u32 {
  return max((bits >> 23u) & 0xffu, 1u);
}

fn significand(bits: u32) -> u32 {
  let mantissa = bits & F32_MANTISSA;
  return select(mantissa | 0x800000u, mantissa, (bits & F32_EXPONENT) == 0u);
}

// Zeros and subnormals become +0: applied to the inputs and results of f32 arithmetic that could
// meet subnormals, it makes GPUs that flush them compute exactly what the CPU computes.
fn flush_bits(bits: u32) -> u32 {
  return select(bits, 0u, (bits & F32_EXPONENT) == 0u);
}

// Block kernels run one workgroup per block; the block is the workgroup's index in the
// (possibly folded 2-D) grid, which is uniform across the workgroup as barriers require.
fn workgroup_linear_index(workgroup: vec3u, groups: vec3u) -> u32 {
  return workgroup.x + workgroup.y * groups.x;
}

fn block_count(count: u32, block_size: u32) -> u32 {
  return (count + block_size - 1u) / block_size;
}

fn block_length(count: u32, block_size: u32, block: u32) -> u32 {
  return min(block_size, count - block * block_size);
}

// floor(n / d) for n < 2^30, with magic and shift from blockDivisor(d) (lib/gpu/block-divisor.ts,
// which proves it exact): the high word of (4n) * magic, shifted right. Integer products only,
// exact on every device; a u32 division by a uniform is scalarized per lane on CPU adapters
// (lavapipe ran the SwitchML kernels 10-20% faster without it) and a multi-instruction sequence
// on GPUs. The 32x32-bit product is built from 16-bit halves, no partial sum wrapping.
fn divide_by_block(n: u32, magic: u32, shift: u32) -> u32 {
  let a = n << 2u;
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = magic & 0xffffu;
  let b1 = magic >> 16u;
  let low = a0 * b0;
  let cross0 = a0 * b1;
  let cross1 = a1 * b0;
  let carry = ((low >> 16u) + (cross0 & 0xffffu) + (cross1 & 0xffffu)) >> 16u;
  return (a1 * b1 + (cross0 >> 16u) + (cross1 >> 16u) + carry) >> shift;
}
