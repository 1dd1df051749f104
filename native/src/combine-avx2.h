// The f32 combination at 256 bits shared by the AVX2 loops (half-simd.cc's 16-bit floats widened
// to f32, float-simd.cc's f32 itself): the plain operation on a block of 16 lanes, and the NaN
// rule of kernels.inc (the first NaN operand, quieted, wins; a NaN made from numbers is the
// canonical 0x7fc00000) only for a block that holds a NaN. Include only in files whose callers
// are compiled for AVX2 (a target attribute) and call them only where the CPU has it.
#pragma once
#if defined(__x86_64__)
#include <immintrin.h>
#include "reduce.h"

namespace webccl {
namespace avx2_combine {

#define AVX2_TARGET __attribute__((target("avx2")))

AVX2_TARGET inline __m256 quiet_nans(__m256 r) {
  __m256 nan = _mm256_cmp_ps(r, r, _CMP_UNORD_Q);
  return _mm256_or_ps(r, _mm256_and_ps(nan, _mm256_castsi256_ps(_mm256_set1_epi32(0x00400000))));
}

/** a op b per lane when neither is NaN: min/max keep the earlier operand on ties (<=, >=). */
template <int OP>
AVX2_TARGET inline __m256 combine_numbers(__m256 a, __m256 b) {
  switch (OP) {
    case (int)Op::sum: return _mm256_add_ps(a, b);
    case (int)Op::prod: return _mm256_mul_ps(a, b);
    case (int)Op::min: return _mm256_blendv_ps(b, a, _mm256_cmp_ps(a, b, _CMP_LE_OQ));
    default: return _mm256_blendv_ps(b, a, _mm256_cmp_ps(a, b, _CMP_GE_OQ));
  }
}

/**
 * a op b per lane, NaN operands included: the first NaN operand, quieted, wins (as first_nan
 * and fmin_bits/fmax_bits in kernels.inc). The hardware's own NaN pick depends on an operand
 * order the compiler may swap, so it is made explicit.
 */
template <int OP>
AVX2_TARGET inline __m256 combine_any(__m256 a, __m256 b) {
  __m256 r = combine_numbers<OP>(a, b);
  // A NaN made from numbers (inf - inf, 0 * inf): the canonical one, not x86's default 0xffc00000.
  r = _mm256_blendv_ps(r, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fc00000)), _mm256_cmp_ps(r, r, _CMP_UNORD_Q));
  r = _mm256_blendv_ps(r, quiet_nans(b), _mm256_cmp_ps(b, b, _CMP_UNORD_Q));
  return _mm256_blendv_ps(r, quiet_nans(a), _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
}

/**
 * Combine two pairs of 8 lanes: the plain operation unless a NaN is among the operands, then
 * the NaN-aware one. A sum or product is NaN wherever an operand is, so its results are checked
 * (one compare for 16 lanes; a NaN made from numbers, inf - inf, takes that path too and becomes
 * the canonical NaN there); min and max can drop a NaN operand, so their operands are.
 */
template <int OP>
AVX2_TARGET inline void combine16(__m256& a0, __m256 b0, __m256& a1, __m256 b1) {
  __m256 r0 = combine_numbers<OP>(a0, b0), r1 = combine_numbers<OP>(a1, b1);
  bool arithmetic = OP == (int)Op::sum || OP == (int)Op::prod;
  __m256 nan = arithmetic ? _mm256_cmp_ps(r0, r1, _CMP_UNORD_Q)
                          : _mm256_or_ps(_mm256_cmp_ps(a0, b0, _CMP_UNORD_Q), _mm256_cmp_ps(a1, b1, _CMP_UNORD_Q));
  if (__builtin_expect(_mm256_movemask_ps(nan) != 0, 0)) {
    r0 = combine_any<OP>(a0, b0);
    r1 = combine_any<OP>(a1, b1);
  }
  a0 = r0;
  a1 = r1;
}

}  // namespace avx2_combine
}  // namespace webccl

#endif
