// Element-wise reductions on CPU memory, bit-identical to the TypeScript oracle
// (lib/cpu/reduce.ts, semantics in lib/cpu/reduction.ts): f32 arithmetic with round to nearest
// even, 16-bit floats widened to f32 and rounded once (RNE) on the way back, integer sum and
// product wrapping, min/max propagating NaN with the earlier operand winning ties.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace webccl {

enum class DType { f32, f16, bf16, i32, u32 };
enum class Op { sum, prod, min, max };

/**
 * f(std::integral_constant<int, (int)op>{}): the run-time op as a compile-time one, for loops
 * that are templates on it (half-simd.cc, half-simd512.cc, float-simd.cc).
 */
template <class F>
size_t with_op(Op op, F&& f) {
  switch (op) {
    case Op::sum: return f(std::integral_constant<int, (int)Op::sum>{});
    case Op::prod: return f(std::integral_constant<int, (int)Op::prod>{});
    case Op::min: return f(std::integral_constant<int, (int)Op::min>{});
    default: return f(std::integral_constant<int, (int)Op::max>{});
  }
}

size_t element_bytes(DType dtype);

/** dst[i] = dst[i] op src[i] for i < count; dst may be the same memory as src. */
void reduce_accumulate(DType dtype, Op op, void* dst, const void* src, size_t count);

/**
 * dst[i] = first[i] op second[i] for i < count, in one pass (first is the left operand, as dst
 * is in reduce_accumulate); dst may be the same memory as first or second.
 */
void reduce_combine(DType dtype, Op op, void* dst, const void* first, const void* second, size_t count);

/** dst[i] = src[i] / divisor: floats multiply by f32(1/divisor), integers truncate toward zero. */
void finish_average(DType dtype, void* dst, const void* src, size_t count, uint32_t divisor);

/**
 * x / d for every 32-bit unsigned x and d >= 2, as a multiply and shifts (Granlund and
 * Montgomery). With l = ceil(log2 d) and m = ceil(2^(31+l) / d), where m·d − 2^(31+l) <= 2^(l−1)
 * (up to 24 every divisor but 7, 14, 19 and 21; 63% of those below 200,000) the quotient is the
 * high half of x * m shifted right by l − 1 (`add` false: two steps fewer a lane); for the rest the round-up
 * method: magic = floor(2^32 (2^l − d) / d) + 1 (a 33-bit multiplier less 2^32), the quotient
 * (t + ((x − t) >> 1)) >> (l − 1), t the high half of x * magic.
 */
struct Divisor {
  uint32_t magic;
  int shift;
  bool add;
};

inline Divisor divisor_of(uint32_t d) {
  int l = 32 - __builtin_clz(d - 1);
  uint64_t power = (uint64_t)1 << (31 + l);
  uint64_t m = (power + d - 1) / d;  // < 2^32: 2^(31+l) / d <= 2^32, equal only where d = 2^(l−1), which l excludes
  if (m * d - power <= ((uint64_t)1 << (l - 1))) return {(uint32_t)m, l - 1, false};
  uint64_t magic = (((uint64_t)1 << l) - d) * ((uint64_t)1 << 32) / d + 1;
  return {(uint32_t)magic, l - 1, true};
}

/** x / d by a Divisor whose form is known at compile time (ADD = v.add), so that a loop over it vectorizes without a select. */
template <bool ADD>
inline uint32_t divide_as(uint32_t x, Divisor v) {
  uint32_t t = (uint32_t)(((uint64_t)x * v.magic) >> 32);
  return (ADD ? t + ((x - t) >> 1) : t) >> v.shift;
}

/** f(std::bool_constant<v.add>{}): the divisor's form as a compile-time one, as with_op does the op, for loops templated on it. */
template <class F>
auto with_divisor_form(Divisor v, F&& f) {
  return v.add ? f(std::true_type{}) : f(std::false_type{});
}

/** The f32 factor floats' average multiplies by: f32(1/divisor), as the oracle's Math.fround(1 / n). */
inline float average_factor(uint32_t divisor) { return (float)(1.0 / (double)divisor); }

/**
 * The host codec's decode + fold: acc[i] = fl(acc[i] + widened src[i]) for count f32 acc
 * values and count f16/bf16 src values (dtype f16 or bf16), NaN by the sum's rule (acc's first).
 */
void half_widen_accumulate(DType dtype, void* acc, const void* src, size_t count);

/** The host codec's decode: dst[i] = the f32 bits of f16/bf16 src[i], exactly (NaN bits unchanged). */
void half_widen(DType dtype, void* dst, const void* src, size_t count);

/** The host codec's encode: dst[i] = f32 src[i] rounded to nearest even as f16/bf16 (dtype). */
void half_narrow(DType dtype, void* dst, const void* src, size_t count);

/** The variant chosen at load for this CPU: "avx512+f16c", "avx512", "avx2+f16c", "avx2" or "baseline". */
const char* reduce_variant();

/** The variants this CPU can run, fastest first (the first is reduce_variant()). */
std::vector<const char*> reduce_variants();

/**
 * A test hook: later reductions run variant `name` ("auto": back to reduce_variant()). Returns
 * the name now in use, or nullptr when `name` is unknown or this CPU cannot run it.
 */
const char* reduce_select_variant(const char* name);

}  // namespace webccl
