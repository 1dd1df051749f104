// float16/bfloat16 reductions with AVX-512 intrinsics, 32 elements a block: the same semantics
// as half-simd.cc's AVX2 loops (read its header), at twice the width, for the common case only.
// A block whose operands or results hold a NaN is handed to the AVX2 loops, which carry the NaN
// rule. Min and max compare the stored bits without widening (select32). At 1 MiB (in cache)
// the sums ran 1.4-1.5x and the bf16 average 1.5x the AVX2 loops,
// which were bound by instruction count (vcvtps2ph, bf16's integer rounding), not by memory
// (native/README.md, "AVX-512"). Compiled per function for AVX-512 F/BW/VL/DQ and F16C (target
// attribute), so the file builds and the binary runs on any x86-64; reduce.cc calls it only
// when the CPU has them. With Bf16Rounding::instruction (the avx512bf16+f16c variant, CPUs
// with AVX512-BF16) bfloat16 sums, products and averages round by vcvtne2ps2bf16, one instruction
// for the integer rounding's ten a block: 64 KiB 0.61 -> 0.77 of memcpy, 1 MiB 0.99 -> 1.27 (sum).
#include "half-simd.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace webccl {
namespace {

// AVX512-BF16 is in every function's target so that the loops templated on Bf16Rounding have
// one definition; its instructions come only from the intrinsics of narrow32_by_instruction,
// which runs only under Bf16Rounding::instruction, chosen only when the CPU has AVX512-BF16
// (no __bf16 type is used, so the compiler makes none of its own).
#define HALF512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,f16c,avx512bf16")))
constexpr int kRne = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

/** 16 float16 elements widened to f32 (exact: vcvtph2ps). */
HALF512_TARGET inline __m512 widen16_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)p));
}

/**
 * 32 elements as two vectors of 16 f32: float16 in element order (0-15, 16-31), bfloat16 as
 * half-simd.cc's widen_bf16 does, even elements and odd ones, each by one shift or mask of the
 * 32-bit words (no cross-lane shuffle: the port that does those bounded the in-order form).
 */
template <bool BF>
HALF512_TARGET inline void widen32(const uint16_t* p, __m512& a, __m512& b) {
  if (BF) {
    __m512i x = _mm512_loadu_si512(p);
    a = _mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
    b = _mm512_castsi512_ps(_mm512_and_si512(x, _mm512_set1_epi32((int)0xffff0000u)));
  } else {
    a = widen16_f16(p);
    b = widen16_f16(p + 16);
  }
}

/** round_bf16 of half-simd.cc at 512 bits: bf16 bits in each lane's top half, RNE. */
HALF512_TARGET inline __m512i round_bf16(__m512 v) {
  __m512i x = _mm512_castps_si512(v);
  __m512i odd = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
  return _mm512_add_epi32(_mm512_add_epi32(x, _mm512_set1_epi32(0x7fff)), odd);
}

/**
 * The inverse of widen32: 32 f32 lanes rounded to nearest even as f16/bf16 and stored. For
 * bf16 every NaN reaching it here passes unchanged (quiet, low 16 bits zero: a widened bf16, or
 * the product of one and a number), as round_bf16's callers guarantee.
 */
template <bool BF>
HALF512_TARGET inline void narrow32(uint16_t* p, __m512 a, __m512 b) {
  if (BF) {
    __m512i low_words = _mm512_srli_epi32(round_bf16(a), 16);
    _mm512_storeu_si512(p, _mm512_mask_blend_epi16(0xaaaaaaaa, low_words, round_bf16(b)));
  } else {
    _mm256_storeu_si256((__m256i*)p, _mm512_cvtps_ph(a, kRne));
    _mm256_storeu_si256((__m256i*)(p + 16), _mm512_cvtps_ph(b, kRne));
  }
}

/**
 * narrow32<true> by AVX512-BF16's vcvtne2ps2bf16, which rounds a number to nearest even as
 * round_bf16 does but reads a subnormal as zero: returns false, storing nothing, when a lane is
 * subnormal or NaN (the caller's AVX2 loop does that block). The conversion puts `even`'s
 * elements in words 0-15 and `odd`'s in 16-31; one permutation interleaves them.
 */
HALF512_TARGET inline bool narrow32_by_instruction(uint16_t* p, __m512 even, __m512 odd) {
  constexpr int subnormal_or_nan = 0x01 | 0x20 | 0x80;  // vfpclassps: quiet NaN, denormal, signalling NaN
  if (__builtin_expect((_mm512_fpclass_ps_mask(even, subnormal_or_nan) | _mm512_fpclass_ps_mask(odd, subnormal_or_nan)) != 0, 0)) return false;
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5,
                                              20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  _mm512_storeu_si512(p, _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(odd, even)));
  return true;
}

/**
 * d = x op y (sum or product) over whole blocks of 32; returns how many elements it did. A
 * block whose results hold a NaN goes to the AVX2 loops.
 */
template <int OP, bool BF, Bf16Rounding R>
HALF512_TARGET size_t combine32(uint16_t* d, const uint16_t* x, const uint16_t* y, size_t n) {
  static_assert(OP == (int)Op::sum || OP == (int)Op::prod, "min and max take select32");
  const DType dtype = BF ? DType::bf16 : DType::f16;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512 a0, a1, b0, b1;
    widen32<BF>(x + i, a0, a1);
    widen32<BF>(y + i, b0, b1);
    __m512 r0 = OP == (int)Op::sum ? _mm512_add_ps(a0, b0) : _mm512_mul_ps(a0, b0);
    __m512 r1 = OP == (int)Op::sum ? _mm512_add_ps(a1, b1) : _mm512_mul_ps(a1, b1);
    if (BF && R == Bf16Rounding::instruction) {
      if (!narrow32_by_instruction(d + i, r0, r1)) half_simd_combine(dtype, (Op)OP, d + i, x + i, y + i, 32);
      continue;
    }
    if (__builtin_expect(_mm512_cmp_ps_mask(r0, r1, _CMP_UNORD_Q) != 0, 0)) {
      half_simd_combine(dtype, (Op)OP, d + i, x + i, y + i, 32);
      continue;
    }
    narrow32<BF>(d + i, r0, r1);
  }
  return i;
}

/**
 * Min and max of 32 16-bit floats a block without widening them: both types are sign and
 * magnitude, so the magnitude negated where the sign is set ((m ^ s) - s, s the sign spread
 * over the lane) orders as signed 16-bit integers as the values do, -0 and +0 both 0: equal,
 * as the float comparison calls them (the earlier operand is kept: the tie rule). The result
 * is one of the stored operands, as half-simd.cc's select; a block with a NaN (magnitude above
 * the infinity's, found by one unsigned max of the two magnitudes) goes to the AVX2 loops. At
 * 1 MiB the widening form ran float16 max at 0.69 of memcpy (four vcvtph2ps and four compares a
 * block); this form has 16 vector instructions a block where the bit-flip form before it
 * (x ^ 0x7fff where negative, then a fix for -0 < +0) had 21.
 */
template <int OP, bool BF>
HALF512_TARGET size_t select32(uint16_t* d, const uint16_t* x, const uint16_t* y, size_t n) {
  const DType dtype = BF ? DType::bf16 : DType::f16;
  const __m512i magnitude = _mm512_set1_epi16(0x7fff);
  const __m512i infinity = _mm512_set1_epi16(BF ? 0x7f80 : 0x7c00);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512i xs = _mm512_loadu_si512(x + i), ys = _mm512_loadu_si512(y + i);
    __m512i xm = _mm512_and_si512(xs, magnitude), ym = _mm512_and_si512(ys, magnitude);
    if (__builtin_expect(_mm512_cmpgt_epu16_mask(_mm512_max_epu16(xm, ym), infinity) != 0, 0)) {
      half_simd_combine(dtype, (Op)OP, d + i, x + i, y + i, 32);
      continue;
    }
    __m512i xsign = _mm512_srai_epi16(xs, 15), ysign = _mm512_srai_epi16(ys, 15);
    __m512i xk = _mm512_sub_epi16(_mm512_xor_si512(xm, xsign), xsign);
    __m512i yk = _mm512_sub_epi16(_mm512_xor_si512(ym, ysign), ysign);
    __mmask32 keep = _mm512_cmp_epi16_mask(xk, yk, OP == (int)Op::min ? _MM_CMPINT_LE : _MM_CMPINT_NLT);
    _mm512_storeu_si512(d + i, _mm512_mask_blend_epi16(keep, ys, xs));
  }
  return i;
}

template <int OP>
size_t combine_of(DType dtype, uint16_t* d, const uint16_t* x, const uint16_t* y, size_t n, Bf16Rounding rounding) {
  if constexpr (OP == (int)Op::min || OP == (int)Op::max) {
    return dtype == DType::f16 ? select32<OP, false>(d, x, y, n) : select32<OP, true>(d, x, y, n);
  } else {
    if (dtype == DType::f16) return combine32<OP, false, Bf16Rounding::integer>(d, x, y, n);
    return rounding == Bf16Rounding::instruction ? combine32<OP, true, Bf16Rounding::instruction>(d, x, y, n)
                                                 : combine32<OP, true, Bf16Rounding::integer>(d, x, y, n);
  }
}

/** d = s * k (or the f32 round trip alone when !multiply) over whole blocks of 32. */
template <bool BF, Bf16Rounding R>
HALF512_TARGET size_t average32(uint16_t* d, const uint16_t* s, size_t n, float k, bool multiply) {
  const DType dtype = BF ? DType::bf16 : DType::f16;
  const __m512 scale = _mm512_set1_ps(k);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512 lo, hi;
    widen32<BF>(s + i, lo, hi);
    if (BF && R == Bf16Rounding::instruction) {
      if (multiply) lo = _mm512_mul_ps(lo, scale), hi = _mm512_mul_ps(hi, scale);
      if (!narrow32_by_instruction(d + i, lo, hi)) half_simd_average(dtype, d + i, s + i, 32, k, multiply);
      continue;
    }
    if (multiply) {
      // A product with a NaN operand is that NaN quieted, its low 16 bits still zero: what
      // narrow32 needs, and what the oracle gives. No check.
      narrow32<BF>(d + i, _mm512_mul_ps(lo, scale), _mm512_mul_ps(hi, scale));
      continue;
    }
    // The f32 round trip alone (divisor 1) must quiet a signalling NaN: such a block goes to the AVX2 loop.
    if (__builtin_expect(_mm512_cmp_ps_mask(lo, hi, _CMP_UNORD_Q) != 0, 0)) {
      half_simd_average(dtype, d + i, s + i, 32, k, multiply);
      continue;
    }
    narrow32<BF>(d + i, lo, hi);
  }
  return i;
}

}  // namespace

bool avx512_supported() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq");
}

bool half_simd512_supported() { return half_simd_supported() && avx512_supported(); }

bool half_simd512_bf16_supported() { return half_simd512_supported() && __builtin_cpu_supports("avx512bf16"); }

size_t half_simd512_combine(DType dtype, Op op, void* dst, const void* first, const void* second, size_t n, Bf16Rounding rounding) {
  uint16_t* d = (uint16_t*)dst;
  const uint16_t *x = (const uint16_t*)first, *y = (const uint16_t*)second;
  return with_op(op, [&](auto o) { return combine_of<decltype(o)::value>(dtype, d, x, y, n, rounding); });
}

size_t half_simd512_average(DType dtype, void* dst, const void* src, size_t n, float k, bool multiply, Bf16Rounding rounding) {
  uint16_t* d = (uint16_t*)dst;
  const uint16_t* s = (const uint16_t*)src;
  if (dtype == DType::f16) return average32<false, Bf16Rounding::integer>(d, s, n, k, multiply);
  return rounding == Bf16Rounding::instruction ? average32<true, Bf16Rounding::instruction>(d, s, n, k, multiply)
                                               : average32<true, Bf16Rounding::integer>(d, s, n, k, multiply);
}

}  // namespace webccl

#else

namespace webccl {
bool avx512_supported() { return false; }
bool half_simd512_supported() { return false; }
bool half_simd512_bf16_supported() { return false; }
size_t half_simd512_combine(DType, Op, void*, const void*, const void*, size_t, Bf16Rounding) { return 0; }
size_t half_simd512_average(DType, void*, const void*, size_t, float, bool, Bf16Rounding) { return 0; }
}  // namespace webccl

#endif
