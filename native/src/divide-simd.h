// The integer average's division with AVX2 and AVX-512 intrinsics (divide-simd.cc).
#pragma once
#include "reduce.h"

namespace webccl {

/**
 * dst[i] = src[i] / divisor (int32 toward zero, or uint32) for the leading multiple of 8 of n;
 * returns how many it did. divisor >= 2. Call only where the CPU has AVX2.
 */
size_t divide_simd_blocks(DType dtype, void* dst, const void* src, size_t n, uint32_t divisor);

/** The same for the leading multiple of 16, with AVX-512 F/BW/VL/DQ (reduce.cc runs it for int32 only). Call only where avx512_supported(). */
size_t divide_simd512_blocks(DType dtype, void* dst, const void* src, size_t n, uint32_t divisor);

}  // namespace webccl
