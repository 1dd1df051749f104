// Runtime dispatch between the baseline (SSE2 on x86-64, NEON on arm64) and AVX2 builds of
// the same loops (kernels.inc), plus hand-written AVX2/F16C loops for the 16-bit floats
// (half-simd.cc) where the CPU has F16C. __builtin_cpu_supports is asked once; a binary built
// here runs on any CPU of its architecture.
#include "reduce.h"
#include "half-simd.h"

namespace webccl {

namespace baseline {
#include "kernels.inc"
}

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx2")
namespace avx2 {
#include "kernels.inc"
}
#pragma GCC pop_options
#endif

namespace {
struct Variant {
  void (*combine)(DType, Op, void*, const void*, const void*, size_t);
  void (*average)(DType, void*, const void*, size_t, uint32_t);
  void (*widen_add)(DType, void*, const void*, size_t);
  void (*narrow)(DType, void*, const void*, size_t);
  void (*widen)(DType, void*, const void*, size_t);
  const char* name;
};

#if defined(__x86_64__)
bool is_half(DType dtype) { return dtype == DType::f16 || dtype == DType::bf16; }

// The intrinsic loops take whole blocks of 16 elements; the compiler-vectorized AVX2 loops do
// the tail (and every 32-bit dtype).
void avx2_f16c_combine(DType dtype, Op op, void* dst, const void* first, const void* second, size_t n) {
  size_t done = is_half(dtype) ? half_simd_combine(dtype, op, dst, first, second, n) : 0;
  avx2::combine(dtype, op, (uint8_t*)dst + done * 2, (const uint8_t*)first + done * 2, (const uint8_t*)second + done * 2, n - done);
}

void avx2_f16c_average(DType dtype, void* dst, const void* src, size_t n, uint32_t divisor) {
  size_t done = is_half(dtype) ? half_simd_average(dtype, dst, src, n, average_factor(divisor), divisor > 1) : 0;
  avx2::average(dtype, (uint8_t*)dst + done * 2, (const uint8_t*)src + done * 2, n - done, divisor);
}

void avx2_f16c_widen_add(DType dtype, void* acc, const void* src, size_t n) {
  size_t done = half_simd_widen_accumulate(dtype, (float*)acc, (const uint16_t*)src, n);
  avx2::widen_add(dtype, (uint8_t*)acc + done * 4, (const uint8_t*)src + done * 2, n - done);
}

void avx2_f16c_narrow(DType dtype, void* dst, const void* src, size_t n) {
  size_t done = half_simd_narrow(dtype, (uint16_t*)dst, (const uint32_t*)src, n);
  avx2::narrow_half(dtype, (uint8_t*)dst + done * 2, (const uint8_t*)src + done * 4, n - done);
}

void avx2_f16c_widen(DType dtype, void* dst, const void* src, size_t n) {
  size_t done = half_simd_widen(dtype, (uint32_t*)dst, (const uint16_t*)src, n);
  avx2::widen_half(dtype, (uint8_t*)dst + done * 4, (const uint8_t*)src + done * 2, n - done);
}
#endif

Variant choose() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (half_simd_supported()) return {avx2_f16c_combine, avx2_f16c_average, avx2_f16c_widen_add, avx2_f16c_narrow, avx2_f16c_widen, "avx2+f16c"};
  if (__builtin_cpu_supports("avx2")) return {avx2::combine, avx2::average, avx2::widen_add, avx2::narrow_half, avx2::widen_half, "avx2"};
#endif
  return {baseline::combine, baseline::average, baseline::widen_add, baseline::narrow_half, baseline::widen_half, "baseline"};
}

const Variant variant = choose();
}  // namespace

size_t element_bytes(DType dtype) { return dtype == DType::f16 || dtype == DType::bf16 ? 2 : 4; }

void reduce_accumulate(DType dtype, Op op, void* dst, const void* src, size_t count) {
  variant.combine(dtype, op, dst, dst, src, count);
}

void reduce_combine(DType dtype, Op op, void* dst, const void* first, const void* second, size_t count) {
  variant.combine(dtype, op, dst, first, second, count);
}

void finish_average(DType dtype, void* dst, const void* src, size_t count, uint32_t divisor) {
  variant.average(dtype, dst, src, count, divisor);
}

void half_widen_accumulate(DType dtype, void* acc, const void* src, size_t count) { variant.widen_add(dtype, acc, src, count); }

void half_narrow(DType dtype, void* dst, const void* src, size_t count) { variant.narrow(dtype, dst, src, count); }

void half_widen(DType dtype, void* dst, const void* src, size_t count) { variant.widen(dtype, dst, src, count); }

const char* reduce_variant() { return variant.name; }

}  // namespace webccl
