// 16-bit float reductions with explicit AVX2 intrinsics (F16C for float16). GCC does not
// vectorize the scalar loops of kernels.inc for these types (the f16 conversion is too branchy
// and the bf16 narrowing mixes widths), which left them at a fraction of memory bandwidth.
// Each function is compiled for its ISA through a target attribute, never for the whole file, so
// the binary still runs on any x86-64; reduce.cc calls them only when the CPU has the feature
// and finishes the last (count mod 16) elements with the scalar loops.
//
// Semantics, lane by lane, are kernels.inc's (and so the TypeScript oracle's): widen exactly to
// f32, one f32 operation, NaN results quieted with the first NaN operand's payload, min/max
// taking the earlier operand on ties, one round to nearest even on the way back. The hardware
// conversions do exactly that: vcvtph2ps is exact (subnormals included, MXCSR.DAZ ignored) and
// vcvtps2ph with imm8 = round-to-nearest narrows as half.ts's f32BitsToF16Bits does, NaNs
// included, because every NaN reaching it here is already quiet. The NaN-aware combination runs
// only for blocks of 16 lanes that hold a NaN (combine16, combine-avx2.h).
#include "half-simd.h"
#include "combine-avx2.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace webccl {
namespace {
using namespace avx2_combine;

#define HALF_TARGET __attribute__((target("avx2,f16c")))

HALF_TARGET inline __m256 widen_f16(const void* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p));
}

HALF_TARGET inline void narrow_f16(void* p, __m256 v) {
  _mm_storeu_si128((__m128i*)p, _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/**
 * 16 bf16 lanes as two vectors of 8 f32, without shuffles: `even` holds elements 0, 2, 4, ...
 * (each 32-bit word shifted up by 16), `odd` elements 1, 3, 5, ... (the word's top half kept).
 * narrow_bf16 puts them back where they came from.
 */
HALF_TARGET inline void widen_bf16(__m256i x, __m256& even, __m256& odd) {
  even = _mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
  odd = _mm256_castsi256_ps(_mm256_and_si256(x, _mm256_set1_epi32((int)0xffff0000u)));
}

HALF_TARGET inline void widen_bf16(const void* p, __m256& even, __m256& odd) {
  widen_bf16(_mm256_loadu_si256((const __m256i*)p), even, odd);
}

/**
 * f32 bits -> bf16 bits in the top half of each lane (low half garbage), RNE: x + 0x7fff + odd.
 * The oracle (f32BitsToBf16Bits) treats NaN apart, returning the top bits with the quiet bit
 * set; here every NaN lane is already quiet with its low 16 bits zero (a bf16 operand widened
 * and quieted, or the canonical NaN 0x7fc00000 of inf - inf, 0 * inf), so the rounding add cannot
 * carry out of it and the same formula gives the oracle's NaN. Callers keep that true (quiet_nans).
 */
HALF_TARGET inline __m256i round_bf16(__m256 v) {
  __m256i x = _mm256_castps_si256(v);
  __m256i odd = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
  return _mm256_add_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(0x7fff)), odd);
}

HALF_TARGET inline void narrow_bf16(void* p, __m256 even, __m256 odd) {
  // Low 16-bit words from the even lanes' top halves, high words from the odd lanes' in place.
  __m256i lo = _mm256_srli_epi32(round_bf16(even), 16);
  _mm256_storeu_si256((__m256i*)p, _mm256_blend_epi16(lo, round_bf16(odd), 0xaa));
}

template <int OP>
HALF_TARGET size_t f16_combine(uint16_t* d, const uint16_t* x, const uint16_t* y, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a0 = widen_f16(x + i), a1 = widen_f16(x + i + 8);
    combine16<OP>(a0, widen_f16(y + i), a1, widen_f16(y + i + 8));
    narrow_f16(d + i, a0);
    narrow_f16(d + i + 8, a1);
  }
  return i;
}

template <int OP>
HALF_TARGET size_t bf16_combine(uint16_t* d, const uint16_t* x, const uint16_t* y, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a0, a1, b0, b1;
    widen_bf16(x + i, a0, a1);
    widen_bf16(y + i, b0, b1);
    combine16<OP>(a0, b0, a1, b1);
    narrow_bf16(d + i, a0, a1);
  }
  return i;
}

/**
 * Min and max return one of their operands, exactly, and compare the stored bits without
 * widening: both types are sign and magnitude, so the magnitude negated where the sign is set,
 * (m ^ s) - s with s the sign spread over the lane, orders as signed 16-bit integers as the
 * values do, -0 and +0 both 0 (equal: the earlier operand stays, the tie rule). A block of 16
 * lanes holding a NaN (a magnitude above the infinity's, found by one unsigned max of the two
 * magnitudes) takes the widen, combine_any, narrow path.
 */
template <int OP, bool BF>
HALF_TARGET size_t select_combine(uint16_t* d, const uint16_t* x, const uint16_t* y, size_t n) {
  const __m256i magnitude = _mm256_set1_epi16(0x7fff);
  const __m256i infinity = _mm256_set1_epi16(BF ? 0x7f80 : 0x7c00);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i x16 = _mm256_loadu_si256((const __m256i*)(x + i)), y16 = _mm256_loadu_si256((const __m256i*)(y + i));
    __m256i xm = _mm256_and_si256(x16, magnitude), ym = _mm256_and_si256(y16, magnitude);
    if (__builtin_expect(_mm256_movemask_epi8(_mm256_cmpgt_epi16(_mm256_max_epu16(xm, ym), infinity)) != 0, 0)) {
      // float16: lanes 0-7 and 8-15; bfloat16: the even and the odd lanes (widen_bf16).
      __m256 a0, a1, b0, b1;
      if (BF) {
        widen_bf16(x16, a0, a1);
        widen_bf16(y16, b0, b1);
        narrow_bf16(d + i, combine_any<OP>(a0, b0), combine_any<OP>(a1, b1));
      } else {
        a0 = widen_f16(x + i);
        a1 = widen_f16(x + i + 8);
        b0 = widen_f16(y + i);
        b1 = widen_f16(y + i + 8);
        narrow_f16(d + i, combine_any<OP>(a0, b0));
        narrow_f16(d + i + 8, combine_any<OP>(a1, b1));
      }
      continue;
    }
    __m256i xsign = _mm256_srai_epi16(x16, 15), ysign = _mm256_srai_epi16(y16, 15);
    __m256i xk = _mm256_sub_epi16(_mm256_xor_si256(xm, xsign), xsign);
    __m256i yk = _mm256_sub_epi16(_mm256_xor_si256(ym, ysign), ysign);
    // y where it is strictly smaller (min) or larger (max); x on ties.
    __m256i take_y = OP == (int)Op::min ? _mm256_cmpgt_epi16(xk, yk) : _mm256_cmpgt_epi16(yk, xk);
    _mm256_storeu_si256((__m256i*)(d + i), _mm256_blendv_epi8(x16, y16, take_y));
  }
  return i;
}

template <int OP>
size_t combine_op(DType dtype, void* dst, const void* first, const void* second, size_t n) {
  uint16_t* d = (uint16_t*)dst;
  const uint16_t* x = (const uint16_t*)first;
  const uint16_t* y = (const uint16_t*)second;
  if (OP == (int)Op::min || OP == (int)Op::max) return dtype == DType::f16 ? select_combine<OP, false>(d, x, y, n) : select_combine<OP, true>(d, x, y, n);
  return dtype == DType::f16 ? f16_combine<OP>(d, x, y, n) : bf16_combine<OP>(d, x, y, n);
}

/** 8 bf16 values widened to f32 in element order (acc's lanes are plain f32, not even/odd pairs). */
HALF_TARGET inline __m256 widen_bf16_in_order(const void* p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16));
}

template <bool BF>
HALF_TARGET inline __m256 widen8(const uint16_t* p) {
  return BF ? widen_bf16_in_order(p) : widen_f16(p);
}

/**
 * acc[i] += widened src[i], 16 lanes at a time: the plain sum, and the NaN rule (combine16,
 * acc as the first operand) only for a block whose sum holds a NaN.
 */
template <bool BF>
HALF_TARGET size_t widen_accumulate(float* acc, const uint16_t* src, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a0 = _mm256_loadu_ps(acc + i), a1 = _mm256_loadu_ps(acc + i + 8);
    combine16<(int)Op::sum>(a0, widen8<BF>(src + i), a1, widen8<BF>(src + i + 8));
    _mm256_storeu_ps(acc + i, a0);
    _mm256_storeu_ps(acc + i + 8, a1);
  }
  return i;
}

/**
 * 8 f32 lanes to bf16 bits in each lane's low half, as f32BitsToBf16Bits: RNE for numbers, and
 * for a NaN (which may be signalling or carry payload in its low bits, unlike round_bf16's
 * inputs) its top half with the quiet bit set.
 */
HALF_TARGET inline __m256i bf16_bits(__m256i x) {
  __m256i top = _mm256_srli_epi32(x, 16);
  __m256i rne = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(0x7fff)), _mm256_and_si256(top, _mm256_set1_epi32(1))), 16);
  __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
  return _mm256_blendv_epi8(rne, _mm256_or_si256(top, _mm256_set1_epi32(0x40)), nan);
}

/** dst[i] = src[i] (f32 bits) rounded to 16 bits, 16 lanes at a time. */
template <bool BF>
HALF_TARGET size_t narrow_blocks(uint16_t* dst, const uint32_t* src, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i lo = _mm256_loadu_si256((const __m256i*)(src + i)), hi = _mm256_loadu_si256((const __m256i*)(src + i + 8));
    if (BF) {
      // packus works per 128-bit half (lanes 0-3, 8-11 | 4-7, 12-15); the permute reorders.
      _mm256_storeu_si256((__m256i*)(dst + i), _mm256_permute4x64_epi64(_mm256_packus_epi32(bf16_bits(lo), bf16_bits(hi)), 0xd8));
    } else {
      // A signalling NaN needs no quieting first: vcvtps2ph sets the quiet bit and keeps the
      // top payload bits, as f32BitsToF16Bits (test/native-half-fold.test.ts covers every sign,
      // exponent and top payload with signalling and quiet lanes; quieting first changed nothing).
      narrow_f16(dst + i, _mm256_castsi256_ps(lo));
      narrow_f16(dst + i + 8, _mm256_castsi256_ps(hi));
    }
  }
  return i;
}

/**
 * dst[i] = f32 bits of src[i], exactly, 16 lanes at a time. vcvtph2ps quiets a signalling NaN
 * (0x7c01 -> 0x7fc02000) where widenBits keeps it (0x7f802000), so a block holding a NaN has
 * the quiet bit cleared again in the lanes whose 16-bit value had it clear. bf16 is a shift.
 */
template <bool BF>
HALF_TARGET size_t widen_blocks(uint32_t* dst, const uint16_t* src, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (size_t k = 0; k < 16; k += 8) {
      __m256 v = widen8<BF>(src + i + k);
      if (!BF && __builtin_expect(_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0, 0)) {
        __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)(src + i + k)));
        __m256i signalling = _mm256_cmpeq_epi32(_mm256_and_si256(h, _mm256_set1_epi32(0x200)), _mm256_setzero_si256());
        __m256i clear = _mm256_and_si256(_mm256_and_si256(signalling, _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q))), _mm256_set1_epi32(0x00400000));
        v = _mm256_castsi256_ps(_mm256_andnot_si256(clear, _mm256_castps_si256(v)));
      }
      _mm256_storeu_ps((float*)(dst + i + k), v);
    }
  }
  return i;
}

}  // namespace

bool half_simd_supported() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
}

size_t half_simd_combine(DType dtype, Op op, void* dst, const void* first, const void* second, size_t n) {
  return with_op(op, [&](auto o) { return combine_op<decltype(o)::value>(dtype, dst, first, second, n); });
}

HALF_TARGET size_t half_simd_average(DType dtype, void* dst, const void* src, size_t n, float k, bool multiply) {
  // multiply false: the round trip through f32 alone (divisor 1), which quiets NaNs as the oracle does.
  __m256 scale = _mm256_set1_ps(k);
  uint16_t* d = (uint16_t*)dst;
  const uint16_t* s = (const uint16_t*)src;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    if (dtype == DType::f16) {
      __m256 lo = widen_f16(s + i), hi = widen_f16(s + i + 8);
      narrow_f16(d + i, multiply ? _mm256_mul_ps(lo, scale) : quiet_nans(lo));
      narrow_f16(d + i + 8, multiply ? _mm256_mul_ps(hi, scale) : quiet_nans(hi));
    } else {
      __m256 lo, hi;
      widen_bf16(s + i, lo, hi);
      narrow_bf16(d + i, multiply ? _mm256_mul_ps(lo, scale) : quiet_nans(lo), multiply ? _mm256_mul_ps(hi, scale) : quiet_nans(hi));
    }
  }
  return i;
}

size_t half_simd_widen_accumulate(DType dtype, float* acc, const uint16_t* src, size_t n) {
  return dtype == DType::bf16 ? widen_accumulate<true>(acc, src, n) : widen_accumulate<false>(acc, src, n);
}

size_t half_simd_narrow(DType dtype, uint16_t* dst, const uint32_t* src, size_t n) {
  return dtype == DType::bf16 ? narrow_blocks<true>(dst, src, n) : narrow_blocks<false>(dst, src, n);
}

size_t half_simd_widen(DType dtype, uint32_t* dst, const uint16_t* src, size_t n) {
  return dtype == DType::bf16 ? widen_blocks<true>(dst, src, n) : widen_blocks<false>(dst, src, n);
}

}  // namespace webccl

#else

namespace webccl {
bool half_simd_supported() { return false; }
size_t half_simd_combine(DType, Op, void*, const void*, const void*, size_t) { return 0; }
size_t half_simd_average(DType, void*, const void*, size_t, float, bool) { return 0; }
size_t half_simd_widen_accumulate(DType, float*, const uint16_t*, size_t) { return 0; }
size_t half_simd_narrow(DType, uint16_t*, const uint32_t*, size_t) { return 0; }
size_t half_simd_widen(DType, uint32_t*, const uint16_t*, size_t) { return 0; }
}  // namespace webccl

#endif
