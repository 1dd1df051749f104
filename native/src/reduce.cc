// Runtime dispatch between the baseline (SSE2 on x86-64, NEON on arm64), AVX2 and AVX-512
// builds of the same loops (kernels.inc), plus hand-written intrinsic blocks: the 16-bit floats
// at 256 bits where the CPU has F16C (half-simd.cc) and at 512 with AVX-512 (half-simd512.cc),
// (and its bfloat16 rounding by AVX512-BF16's instruction where the CPU has it), the f32
// combination at both widths (float-simd.cc), and the integer average's division at both
// (divide-simd.cc). __builtin_cpu_supports is asked once; a binary
// built here runs on any CPU of its architecture. reduce_select_variant (a test hook) switches
// to any variant this CPU can run, so that one machine checks every one it has against the
// oracle, not only the fastest.
#include "reduce.h"
#include "divide-simd.h"
#include "float-simd.h"
#include "half-simd.h"
#include <atomic>
#include <cstring>

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

// 512-bit vectors: GCC's default tuning stays at 256 bits even with AVX-512 allowed.
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,prefer-vector-width=512")
namespace avx512 {
#include "kernels.inc"
}
#pragma GCC pop_options
#endif

namespace {
struct Loops {
  void (*combine)(DType, Op, void*, const void*, const void*, size_t);
  void (*average)(DType, void*, const void*, size_t, uint32_t);
  void (*widen_add)(DType, void*, const void*, size_t);
  void (*narrow)(DType, void*, const void*, size_t);
  void (*widen)(DType, void*, const void*, size_t);
};

struct Variant {
  const char* name;
  bool (*supported)();
  Loops loops;
};

bool always() { return true; }

constexpr Loops kBaseline{baseline::combine, baseline::average, baseline::widen_add, baseline::narrow_half, baseline::widen_half};

#if defined(__x86_64__)
constexpr Loops kAvx2{avx2::combine, avx2::average, avx2::widen_add, avx2::narrow_half, avx2::widen_half};
constexpr Loops kAvx512{avx512::combine, avx512::average, avx512::widen_add, avx512::narrow_half, avx512::widen_half};

bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

bool is_half(DType dtype) { return dtype == DType::f16 || dtype == DType::bf16; }

// The intrinsic loops (half-simd*.cc, float-simd.cc, divide-simd.cc) take whole blocks of 8,
// 16 or 32 elements; the compiler-vectorized loops of `rest` do the tail (and the rest of the
// dtypes). The codec's widen/narrow steps have AVX2 blocks only.
struct Blocks {
  size_t (*combine)(DType, Op, void*, const void*, const void*, size_t);
  size_t (*average)(DType, void*, const void*, size_t, uint32_t);
};

size_t avx2_average_blocks(DType dtype, void* dst, const void* src, size_t n, uint32_t divisor) {
  if (is_half(dtype)) return half_simd_average(dtype, dst, src, n, average_factor(divisor), divisor > 1);
  // GCC's AVX2 form of the integer division widens every lane; the intrinsic one does not.
  if ((dtype == DType::i32 || dtype == DType::u32) && divisor > 1) return divide_simd_blocks(dtype, dst, src, n, divisor);
  return 0;
}

template <Bf16Rounding rounding>
size_t avx512_average_blocks(DType dtype, void* dst, const void* src, size_t n, uint32_t divisor) {
  if (is_half(dtype)) return half_simd512_average(dtype, dst, src, n, average_factor(divisor), divisor > 1, rounding);
  // int32 only: its loop ran at 0.94-0.95 of memcpy at 1 MiB where the compiler's ran 0.69-0.70
  // (0.93 against 0.69 at 8 MiB, level at 16). For uint32 the compiler's 512-bit loop stays: this
  // one ran level with it at 1 MiB and at 0.53-0.65 at 8 and 16 MiB, where the compiler's ran
  // 0.84-1.10 and the 256-bit one 0.90-1.05.
  if (divisor > 1 && dtype == DType::i32) return divide_simd512_blocks(dtype, dst, src, n, divisor);
  return 0;
}

size_t avx2_combine_blocks(DType dtype, Op op, void* dst, const void* first, const void* second, size_t n) {
  if (is_half(dtype)) return half_simd_combine(dtype, op, dst, first, second, n);
  return dtype == DType::f32 ? float_simd_combine(op, (float*)dst, (const float*)first, (const float*)second, n) : 0;
}

template <Bf16Rounding rounding>
size_t avx512_combine_blocks(DType dtype, Op op, void* dst, const void* first, const void* second, size_t n) {
  if (is_half(dtype)) return half_simd512_combine(dtype, op, dst, first, second, n, rounding);
  return dtype == DType::f32 ? float_simd512_combine(op, (float*)dst, (const float*)first, (const float*)second, n) : 0;
}

constexpr Blocks kBlocks256{avx2_combine_blocks, avx2_average_blocks};
constexpr Blocks kBlocks512{avx512_combine_blocks<Bf16Rounding::integer>, avx512_average_blocks<Bf16Rounding::integer>};
constexpr Blocks kBlocks512Bf16{avx512_combine_blocks<Bf16Rounding::instruction>, avx512_average_blocks<Bf16Rounding::instruction>};

template <const Blocks& blocks, const Loops& rest>
void blocks_combine(DType dtype, Op op, void* dst, const void* first, const void* second, size_t n) {
  size_t done = blocks.combine(dtype, op, dst, first, second, n), e = element_bytes(dtype);
  rest.combine(dtype, op, (uint8_t*)dst + done * e, (const uint8_t*)first + done * e, (const uint8_t*)second + done * e, n - done);
}

template <const Blocks& blocks, const Loops& rest>
void blocks_average(DType dtype, void* dst, const void* src, size_t n, uint32_t divisor) {
  size_t done = blocks.average(dtype, dst, src, n, divisor), e = element_bytes(dtype);
  rest.average(dtype, (uint8_t*)dst + done * e, (const uint8_t*)src + done * e, n - done, divisor);
}

template <const Loops& rest>
void half_blocks_widen_add(DType dtype, void* acc, const void* src, size_t n) {
  size_t done = half_simd_widen_accumulate(dtype, (float*)acc, (const uint16_t*)src, n);
  rest.widen_add(dtype, (uint8_t*)acc + done * 4, (const uint8_t*)src + done * 2, n - done);
}

template <const Loops& rest>
void half_blocks_narrow(DType dtype, void* dst, const void* src, size_t n) {
  size_t done = half_simd_narrow(dtype, (uint16_t*)dst, (const uint32_t*)src, n);
  rest.narrow(dtype, (uint8_t*)dst + done * 2, (const uint8_t*)src + done * 4, n - done);
}

template <const Loops& rest>
void half_blocks_widen(DType dtype, void* dst, const void* src, size_t n) {
  size_t done = half_simd_widen(dtype, (uint32_t*)dst, (const uint16_t*)src, n);
  rest.widen(dtype, (uint8_t*)dst + done * 4, (const uint8_t*)src + done * 2, n - done);
}

/**
 * Elements of `n` before `p`'s next 64-byte boundary. Node's large ArrayBuffers start 16 bytes
 * past a page (malloc's header), so without this head every 512-bit access of a loop straddles
 * two cache lines; done first, the rest of the call stores whole lines (and loads them, where
 * the sources share dst's offset, as buffers allocated alike do).
 */
size_t before_line(const void* p, size_t element, size_t n) {
  size_t head = ((64 - ((uintptr_t)p & 63)) & 63) / element;
  return head < n ? head : n;
}

template <const Loops& body>
void line_aligned_combine(DType dtype, Op op, void* dst, const void* first, const void* second, size_t n) {
  size_t e = element_bytes(dtype), head = before_line(dst, e, n);
  body.combine(dtype, op, dst, first, second, head);
  body.combine(dtype, op, (uint8_t*)dst + head * e, (const uint8_t*)first + head * e, (const uint8_t*)second + head * e, n - head);
}

template <const Loops& body>
void line_aligned_average(DType dtype, void* dst, const void* src, size_t n, uint32_t divisor) {
  size_t e = element_bytes(dtype), head = before_line(dst, e, n);
  body.average(dtype, dst, src, head, divisor);
  body.average(dtype, (uint8_t*)dst + head * e, (const uint8_t*)src + head * e, n - head, divisor);
}

template <const Loops& body>
constexpr Loops line_aligned() {
  return {line_aligned_combine<body>, line_aligned_average<body>, body.widen_add, body.narrow, body.widen};
}

template <const Blocks& blocks, const Loops& rest>
constexpr Loops with_blocks() {
  return {blocks_combine<blocks, rest>, blocks_average<blocks, rest>, half_blocks_widen_add<rest>, half_blocks_narrow<rest>, half_blocks_widen<rest>};
}

constexpr Loops kAvx512Blocks = with_blocks<kBlocks512, kAvx512>();
constexpr Loops kAvx512Bf16Blocks = with_blocks<kBlocks512Bf16, kAvx512>();
#endif

// Fastest first: choose() takes the first this CPU supports.
const Variant kVariants[] = {
#if defined(__x86_64__)
    {"avx512bf16+f16c", half_simd512_bf16_supported, line_aligned<kAvx512Bf16Blocks>()},
    {"avx512+f16c", half_simd512_supported, line_aligned<kAvx512Blocks>()},
    {"avx512", avx512_supported, line_aligned<kAvx512>()},
    {"avx2+f16c", half_simd_supported, with_blocks<kBlocks256, kAvx2>()},
    {"avx2", has_avx2, kAvx2},
#endif
    {"baseline", always, kBaseline},
};

const Variant* choose() {
  for (const Variant& v : kVariants) {
    if (v.supported()) return &v;
  }
  return &kVariants[sizeof kVariants / sizeof kVariants[0] - 1];
}

const Variant* const chosen = choose();
// Read by every thread that reduces (the board's, the transports' I/O threads); written only
// by the test hook, between calls.
std::atomic<const Variant*> current{chosen};

const Loops& loops() { return current.load(std::memory_order_relaxed)->loops; }
}  // namespace

size_t element_bytes(DType dtype) { return dtype == DType::f16 || dtype == DType::bf16 ? 2 : 4; }

void reduce_accumulate(DType dtype, Op op, void* dst, const void* src, size_t count) {
  loops().combine(dtype, op, dst, dst, src, count);
}

void reduce_combine(DType dtype, Op op, void* dst, const void* first, const void* second, size_t count) {
  loops().combine(dtype, op, dst, first, second, count);
}

void finish_average(DType dtype, void* dst, const void* src, size_t count, uint32_t divisor) {
  loops().average(dtype, dst, src, count, divisor);
}

void half_widen_accumulate(DType dtype, void* acc, const void* src, size_t count) { loops().widen_add(dtype, acc, src, count); }

void half_narrow(DType dtype, void* dst, const void* src, size_t count) { loops().narrow(dtype, dst, src, count); }

void half_widen(DType dtype, void* dst, const void* src, size_t count) { loops().widen(dtype, dst, src, count); }

const char* reduce_variant() { return chosen->name; }

std::vector<const char*> reduce_variants() {
  std::vector<const char*> names;
  for (const Variant& v : kVariants) {
    if (v.supported()) names.push_back(v.name);
  }
  return names;
}

const char* reduce_select_variant(const char* name) {
  if (std::strcmp(name, "auto") == 0) {
    current.store(chosen, std::memory_order_relaxed);
    return chosen->name;
  }
  for (const Variant& v : kVariants) {
    if (std::strcmp(v.name, name) != 0) continue;
    if (!v.supported()) return nullptr;
    current.store(&v, std::memory_order_relaxed);
    return v.name;
  }
  return nullptr;
}

}  // namespace webccl
