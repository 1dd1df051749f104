// float32 combination loops with explicit AVX2 and AVX-512 intrinsics (float-simd.cc).
#pragma once
#include "reduce.h"

namespace webccl {

/**
 * dst[i] = first[i] op second[i] for the leading multiple of 16 of n float32 elements (dst may
 * be first or second); returns how many it did. kernels.inc's results, bit for bit. Call only
 * where the CPU has AVX2.
 */
size_t float_simd_combine(Op op, float* dst, const float* first, const float* second, size_t n);

/** The same in blocks of 32 with AVX-512 (blocks holding a NaN run the AVX2 loop). Call only where avx512_supported(). */
size_t float_simd512_combine(Op op, float* dst, const float* first, const float* second, size_t n);

}  // namespace webccl
