// The integer average's division (divisor_of and divide_as in reduce.h) with explicit intrinsics, 8 lanes a
// block with AVX2 and 16 with AVX-512. GCC vectorizes kernels.inc's loop too, but for AVX2 it
// widens every lane to 64 bits and packs it back (0.12-0.50 of memcpy); here the high half of
// x * magic comes from two vpmuludq, one on the even lanes and one on the odd lanes shifted down,
// and a blend. Compiled per function for its ISA, so the file builds and the binary runs on any
// x86-64.
#include "divide-simd.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace webccl {
namespace {

#define DIVIDE_TARGET __attribute__((target("avx2")))

/** d[i] = s[i] / v over whole blocks of 8: unsigned, or signed toward zero (the magnitude divided, the sign put back). */
template <bool SIGNED, bool ADD>
DIVIDE_TARGET size_t divide8(uint32_t* d, const uint32_t* s, size_t n, Divisor v) {
  const __m256i magic = _mm256_set1_epi32((int)v.magic);
  const __m128i shift = _mm_cvtsi32_si128(v.shift);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i in = _mm256_loadu_si256((const __m256i*)(s + i));
    // The magnitude as unsigned: vpabsd leaves INT32_MIN as 0x80000000, which is 2^31 unsigned.
    __m256i x = SIGNED ? _mm256_abs_epi32(in) : in;
    // vpmuludq multiplies the low 32 bits of each 64-bit lane: the even elements, then the odd
    // ones shifted into place; each product's high half is t for its element.
    __m256i even = _mm256_srli_epi64(_mm256_mul_epu32(x, magic), 32);
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), magic);
    __m256i t = _mm256_blend_epi32(even, odd, 0xaa);
    __m256i q = _mm256_srl_epi32(ADD ? _mm256_add_epi32(t, _mm256_srli_epi32(_mm256_sub_epi32(x, t), 1)) : t, shift);
    // vpsignd: q negated where the input was negative (where it was 0, q is 0 already).
    if (SIGNED) q = _mm256_sign_epi32(q, in);
    _mm256_storeu_si256((__m256i*)(d + i), q);
  }
  return i;
}

#define DIVIDE512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

/** divide8 at 512 bits, 16 lanes a block (AVX-512 has no vpsignd: a masked subtraction puts the sign back). */
template <bool SIGNED, bool ADD>
DIVIDE512_TARGET size_t divide16(uint32_t* d, const uint32_t* s, size_t n, Divisor v) {
  const __m512i magic = _mm512_set1_epi32((int)v.magic);
  const __m128i shift = _mm_cvtsi32_si128(v.shift);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i in = _mm512_loadu_si512(s + i);
    __m512i x = SIGNED ? _mm512_abs_epi32(in) : in;
    __m512i even = _mm512_srli_epi64(_mm512_mul_epu32(x, magic), 32);
    __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), magic);
    __m512i t = _mm512_mask_blend_epi32(0xaaaa, even, odd);
    __m512i q = _mm512_srl_epi32(ADD ? _mm512_add_epi32(t, _mm512_srli_epi32(_mm512_sub_epi32(x, t), 1)) : t, shift);
    if (SIGNED) q = _mm512_mask_sub_epi32(q, _mm512_movepi32_mask(in), _mm512_setzero_si512(), q);
    _mm512_storeu_si512(d + i, q);
  }
  return i;
}

}  // namespace

size_t divide_simd_blocks(DType dtype, void* dst, const void* src, size_t n, uint32_t divisor) {
  uint32_t* d = (uint32_t*)dst;
  const uint32_t* s = (const uint32_t*)src;
  Divisor v = divisor_of(divisor);
  return with_divisor_form(v, [&](auto add) {
    return dtype == DType::i32 ? divide8<true, decltype(add)::value>(d, s, n, v) : divide8<false, decltype(add)::value>(d, s, n, v);
  });
}

size_t divide_simd512_blocks(DType dtype, void* dst, const void* src, size_t n, uint32_t divisor) {
  uint32_t* d = (uint32_t*)dst;
  const uint32_t* s = (const uint32_t*)src;
  Divisor v = divisor_of(divisor);
  return with_divisor_form(v, [&](auto add) {
    return dtype == DType::i32 ? divide16<true, decltype(add)::value>(d, s, n, v) : divide16<false, decltype(add)::value>(d, s, n, v);
  });
}

}  // namespace webccl

#else

namespace webccl {
size_t divide_simd_blocks(DType, void*, const void*, size_t, uint32_t) { return 0; }
size_t divide_simd512_blocks(DType, void*, const void*, size_t, uint32_t) { return 0; }
}  // namespace webccl

#endif
