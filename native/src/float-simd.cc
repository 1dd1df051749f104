// float32 reductions with explicit intrinsics. GCC vectorizes kernels.inc's f32 loops, but with
// the NaN rule on every lane (three NaN tests and three selects per vector, as the rule is
// written there), which held the AVX2 product at 0.59 of memcpy at 1 MiB (native/README.md).
// Here a block of 16 (AVX2) or 32 (AVX-512) lanes runs the plain operation and one test of its
// results (a sum or product is NaN wherever an operand is) or operands (min and max can drop a
// NaN); only a block that holds a NaN takes the rule (combine-avx2.h). Compiled per function
// for its ISA (target attributes): the binary runs on any x86-64, and reduce.cc calls these
// only where the CPU has the ISA.
#include "float-simd.h"

#if defined(__x86_64__)
#include "combine-avx2.h"

namespace webccl {
namespace {
using namespace avx2_combine;

template <int OP>
AVX2_TARGET size_t combine_blocks(float* d, const float* x, const float* y, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a0 = _mm256_loadu_ps(x + i), a1 = _mm256_loadu_ps(x + i + 8);
    combine16<OP>(a0, _mm256_loadu_ps(y + i), a1, _mm256_loadu_ps(y + i + 8));
    _mm256_storeu_ps(d + i, a0);
    _mm256_storeu_ps(d + i + 8, a1);
  }
  return i;
}

#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

/** a + b or a * b on 16 lanes (min and max run at 256 bits: float_simd512_combine). */
template <int OP>
AVX512_TARGET inline __m512 combine_numbers512(__m512 a, __m512 b) {
  return OP == (int)Op::sum ? _mm512_add_ps(a, b) : _mm512_mul_ps(a, b);
}

/**
 * Sum or product in blocks of 32 lanes: the plain operation, and a block whose results hold a
 * NaN (any NaN operand makes one) handed whole to the AVX2 loop, which has the rule.
 */
template <int OP>
AVX512_TARGET size_t combine_blocks512(float* d, const float* x, const float* y, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512 a0 = _mm512_loadu_ps(x + i), a1 = _mm512_loadu_ps(x + i + 16);
    __m512 b0 = _mm512_loadu_ps(y + i), b1 = _mm512_loadu_ps(y + i + 16);
    __m512 r0 = combine_numbers512<OP>(a0, b0), r1 = combine_numbers512<OP>(a1, b1);
    if (__builtin_expect(_mm512_cmp_ps_mask(r0, r1, _CMP_UNORD_Q) != 0, 0)) {
      combine_blocks<OP>(d + i, x + i, y + i, 32);
      continue;
    }
    _mm512_storeu_ps(d + i, r0);
    _mm512_storeu_ps(d + i + 16, r1);
  }
  return i;
}

}  // namespace

size_t float_simd_combine(Op op, float* dst, const float* first, const float* second, size_t n) {
  return with_op(op, [&](auto o) { return combine_blocks<decltype(o)::value>(dst, first, second, n); });
}

size_t float_simd512_combine(Op op, float* dst, const float* first, const float* second, size_t n) {
  // Min and max at 256 bits: at 16 MiB (dst, src and the results about L3's size) the 512-bit
  // select ran at 0.77-0.86 of memcpy where the 256-bit one ran 1.33-1.42, in three runs, the
  // compiler's 512-bit loop as slow as this one; level at 1 MiB, 0.98 against 1.12 at 4 MiB.
  switch (op) {
    case Op::sum: return combine_blocks512<(int)Op::sum>(dst, first, second, n);
    case Op::prod: return combine_blocks512<(int)Op::prod>(dst, first, second, n);
    default: return float_simd_combine(op, dst, first, second, n);
  }
}

}  // namespace webccl

#else

namespace webccl {
size_t float_simd_combine(Op, float*, const float*, const float*, size_t) { return 0; }
size_t float_simd512_combine(Op, float*, const float*, const float*, size_t) { return 0; }
}  // namespace webccl

#endif
