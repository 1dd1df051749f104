// The host codec's 16-bit loops (half_widen_accumulate, half_narrow, half_widen in reduce.h): the AVX2/F16C
// blocks of half-simd.cc against the scalar loops of kernels.inc's baseline build, which only
// CPUs without AVX2+F16C run (test/native-half-fold.test.ts holds the dispatched ones
// bit-identical to lib/cpu/cast.ts on this machine). Narrowing: every f32 pattern (2^32), both
// types. Widen + accumulate: every 16-bit pattern against every accumulator whose top 16 bits
// are any pattern and whose low 16 bits are 0x0000, 0x8001 or 0xffff (3 * 2^32 pairs a type:
// ±0, ±∞, subnormals, NaN payloads on either side, ∞ - ∞, sums that round). Widening: every
// 16-bit pattern. A manual check,
// about 2 minutes on one core (STEP > 1 samples every STEP-th top half), too slow for the suite:
//   g++ -O2 -std=c++17 -ffp-contract=off -fno-trapping-math -ftree-vectorize native/tools/half-fold-exhaustive.cc \
//       native/src/half-simd.cc -o /tmp/half-fold-exhaustive && /tmp/half-fold-exhaustive [STEP]
#include "../src/reduce.cc"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
using namespace webccl;
int main(int argc, char** argv) {
  if (!half_simd_supported()) { printf("this CPU has no AVX2+F16C: nothing to compare\n"); return 2; }
  const size_t N = 65536;
  uint32_t step = argc > 1 ? (uint32_t)atoi(argv[1]) : 1;
  std::vector<uint32_t> wide(N), acc1(N), acc2(N);
  std::vector<uint16_t> half(N), out1(N), out2(N);
  long bad = 0;
  for (int dt = 0; dt < 2; dt++) {
    DType dtype = dt ? DType::bf16 : DType::f16;
    const char* name = dt ? "bf16" : "f16";
    for (uint32_t hi = 0; hi < 65536; hi += step) {
      for (size_t i = 0; i < N; i++) wide[i] = (hi << 16) | (uint32_t)i;
      baseline::narrow_half(dtype, out1.data(), wide.data(), N);
      if (half_simd_narrow(dtype, out2.data(), wide.data(), N) != N) return 3;
      for (size_t i = 0; i < N; i++) {
        if (out1[i] != out2[i] && bad++ < 10) printf("narrow %s %08x: scalar %04x simd %04x\n", name, wide[i], out1[i], out2[i]);
      }
    }
    for (size_t i = 0; i < N; i++) half[i] = (uint16_t)i;
    baseline::widen_half(dtype, acc1.data(), half.data(), N);
    if (half_simd_widen(dtype, acc2.data(), half.data(), N) != N) return 3;
    for (size_t i = 0; i < N; i++) {
      if (acc1[i] != acc2[i] && bad++ < 10) printf("widen %s %04zx: scalar %08x simd %08x\n", name, i, acc1[i], acc2[i]);
    }
    for (uint32_t low : {0x0000u, 0x8001u, 0xffffu}) {
      for (uint32_t hi = 0; hi < 65536; hi += step) {
        for (size_t i = 0; i < N; i++) acc1[i] = acc2[i] = (hi << 16) | low;
        baseline::widen_add(dtype, acc1.data(), half.data(), N);
        if (half_simd_widen_accumulate(dtype, (float*)acc2.data(), half.data(), N) != N) return 3;
        if (memcmp(acc1.data(), acc2.data(), N * 4)) {
          for (size_t i = 0; i < N; i++) {
            if (acc1[i] != acc2[i] && bad++ < 20) printf("widen+add %s acc %08x src %04zx: scalar %08x simd %08x\n", name, (hi << 16) | low, i, acc1[i], acc2[i]);
          }
        }
      }
    }
  }
  printf("mismatches: %ld\n", bad);
  return bad != 0;
}
