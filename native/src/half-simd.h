// float16/bfloat16 reduction loops with explicit AVX2 (+F16C) intrinsics, see half-simd.cc.
// Each processes whole blocks of 16 elements from the start and returns how many it did; the
// caller finishes the rest with the scalar loops. Call only when half_simd_supported().
#pragma once
#include "reduce.h"

namespace webccl {

/** True when this CPU has AVX2 and F16C (asked once by reduce.cc at load). */
bool half_simd_supported();

/** dst[i] = first[i] op second[i] for the leading multiple of 16 of n f16 or bf16 elements (dst may be first or second). */
size_t half_simd_combine(DType dtype, Op op, void* dst, const void* first, const void* second, size_t n);

/** dst[i] = src[i] * k (or the f32 round trip alone when !multiply), for the leading multiple of 16. */
size_t half_simd_average(DType dtype, void* dst, const void* src, size_t n, float k, bool multiply);

/** acc[i] = acc[i] + widened src[i] (the sum's NaN rule) for the leading multiple of 16 of n. */
size_t half_simd_widen_accumulate(DType dtype, float* acc, const uint16_t* src, size_t n);

/** dst[i] = the f32 with bits src[i] rounded (RNE) to f16/bf16, for the leading multiple of 16 of n. */
size_t half_simd_narrow(DType dtype, uint16_t* dst, const uint32_t* src, size_t n);

/** dst[i] = the f32 bits of f16/bf16 src[i], exactly (signalling NaNs stay signalling), for the leading multiple of 16 of n. */
size_t half_simd_widen(DType dtype, uint32_t* dst, const uint16_t* src, size_t n);

/** True when this CPU has AVX-512 F, BW, VL and DQ (the set every AVX-512 loop here is built for). */
bool avx512_supported();

/** True when this CPU has AVX-512 (avx512_supported) and F16C: half-simd512.cc's loops may run. */
bool half_simd512_supported();

/** True when half_simd512_supported() and the CPU has AVX512-BF16 (Bf16Rounding::instruction may run). */
bool half_simd512_bf16_supported();

/** How the 512-bit loops round bfloat16 results: integer arithmetic, or vcvtne2ps2bf16 (AVX512-BF16). */
enum class Bf16Rounding { integer, instruction };

/**
 * half_simd_combine and half_simd_average in blocks of 32 with AVX-512 (half-simd512.cc):
 * same results, bit for bit, either rounding; blocks holding a NaN (and, with the instruction,
 * a subnormal) run the AVX2 loops. Call only when half_simd512_supported(), and with
 * Bf16Rounding::instruction only when half_simd512_bf16_supported().
 */
size_t half_simd512_combine(DType dtype, Op op, void* dst, const void* first, const void* second, size_t n, Bf16Rounding rounding);
size_t half_simd512_average(DType dtype, void* dst, const void* src, size_t n, float k, bool multiply, Bf16Rounding rounding);

}  // namespace webccl
