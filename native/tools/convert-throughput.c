// What the float16 loops' conversions cost on this CPU, without memory: the throughput of
// vcvtph2ps and vcvtps2ph (512 bits), of vaddps beside them, and of one block of the float16 sum
// as half-simd512.cc's combine32 runs it (32 elements: four widenings, two additions, two
// narrowings), each in TSC cycles per instruction and per block, eight independent registers a
// round so that no result waits on another. The loop's own figure is reduce-cycles.cc's at a size
// in L2 (64 KiB: 1024 blocks); where it is near this block's, the loop is bound by these
// instructions, not by memory, and no reordering of it reaches memcpy's rate in L2.
//   gcc -O2 -o /tmp/convert-throughput native/tools/convert-throughput.c && /tmp/convert-throughput [rounds]
// x86-64 with AVX-512 F and F16C only.
#include <stdio.h>
#include <stdlib.h>
#include <x86intrin.h>

#define CLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7"

// Each body is 8 instructions; the fastest of 5 passes of `rounds` rounds, in TSC cycles a round.
#define TIMED(name, body)                                                   \
  static double name(long rounds) {                                         \
    unsigned long long best = ~0ull;                                        \
    for (int pass = 0; pass < 5; pass++) {                                  \
      unsigned long long t = __rdtsc();                                     \
      for (long n = 0; n < rounds; n++) __asm__ volatile(body ::: CLOBBERS); \
      t = __rdtsc() - t;                                                    \
      if (t < best) best = t;                                               \
    }                                                                       \
    return (double)best / rounds;                                           \
  }

TIMED(widen, "vcvtph2ps %%ymm8, %%zmm0\n vcvtph2ps %%ymm9, %%zmm1\n vcvtph2ps %%ymm10, %%zmm2\n vcvtph2ps %%ymm11, %%zmm3\n"
             "vcvtph2ps %%ymm12, %%zmm4\n vcvtph2ps %%ymm13, %%zmm5\n vcvtph2ps %%ymm14, %%zmm6\n vcvtph2ps %%ymm15, %%zmm7\n")
TIMED(narrow, "vcvtps2ph $0, %%zmm8, %%ymm0\n vcvtps2ph $0, %%zmm9, %%ymm1\n vcvtps2ph $0, %%zmm10, %%ymm2\n vcvtps2ph $0, %%zmm11, %%ymm3\n"
              "vcvtps2ph $0, %%zmm12, %%ymm4\n vcvtps2ph $0, %%zmm13, %%ymm5\n vcvtps2ph $0, %%zmm14, %%ymm6\n vcvtps2ph $0, %%zmm15, %%ymm7\n")
TIMED(add, "vaddps %%zmm8, %%zmm9, %%zmm0\n vaddps %%zmm8, %%zmm9, %%zmm1\n vaddps %%zmm8, %%zmm9, %%zmm2\n vaddps %%zmm8, %%zmm9, %%zmm3\n"
           "vaddps %%zmm8, %%zmm9, %%zmm4\n vaddps %%zmm8, %%zmm9, %%zmm5\n vaddps %%zmm8, %%zmm9, %%zmm6\n vaddps %%zmm8, %%zmm9, %%zmm7\n")
// combine32's arithmetic on one block: x's and y's 32 elements widened, added, narrowed.
TIMED(sum_block, "vcvtph2ps %%ymm8, %%zmm0\n vcvtph2ps %%ymm9, %%zmm1\n vcvtph2ps %%ymm10, %%zmm2\n vcvtph2ps %%ymm11, %%zmm3\n"
                 "vaddps %%zmm0, %%zmm2, %%zmm4\n vaddps %%zmm1, %%zmm3, %%zmm5\n vcvtps2ph $0, %%zmm4, %%ymm6\n vcvtps2ph $0, %%zmm5, %%ymm7\n")

__attribute__((target("avx512f"))) static void zero_inputs(void) {
  __asm__ volatile("vpxord %%zmm8, %%zmm8, %%zmm8\n vpxord %%zmm9, %%zmm9, %%zmm9\n vpxord %%zmm10, %%zmm10, %%zmm10\n vpxord %%zmm11, %%zmm11, %%zmm11\n"
                   "vpxord %%zmm12, %%zmm12, %%zmm12\n vpxord %%zmm13, %%zmm13, %%zmm13\n vpxord %%zmm14, %%zmm14, %%zmm14\n vpxord %%zmm15, %%zmm15, %%zmm15\n"
                   ::: "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

int main(int argc, char** argv) {
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("f16c")) { fprintf(stderr, "needs AVX-512 F and F16C\n"); return 2; }
  long rounds = argc > 1 ? atol(argv[1]) : 10000000;
  zero_inputs();
  printf("TSC cycles per instruction: vcvtph2ps %.3f  vcvtps2ph %.3f  vaddps %.3f\n", widen(rounds) / 8, narrow(rounds) / 8, add(rounds) / 8);
  printf("TSC cycles per float16 sum block (32 elements: 4 widenings, 2 additions, 2 narrowings): %.2f\n", sum_block(rounds));
  return 0;
}
