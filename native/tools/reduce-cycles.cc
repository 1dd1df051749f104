// The reduction loops against memcpy at one size, in TSC cycles, x86-64 only:
//   g++ -O2 -std=c++17 -ffp-contract=off -fno-trapping-math -ftree-vectorize native/tools/reduce-cycles.cc \
//       native/src/half-simd.cc native/src/half-simd512.cc native/src/float-simd.cc native/src/divide-simd.cc \
//       -o /tmp/reduce-cycles && /tmp/reduce-cycles 1048576 300
// Each loop's figure is its fastest of `reps` calls, interleaved: on a shared, loaded machine
// (where bench/native-reduce.ts's GB/s swing by 2x) the least disturbed call is the most
// repeatable measure. Bytes of traffic per cycle: reduce 3 × bytes, memcpy and average 2 ×.
// Buffers start 64, 128 and 192 bytes into pages, so that glibc's memcpy avoids its slow
// page-aliased case on AMD (bench/native-reduce.ts's 64 KiB row shows it).
#include "../src/reduce.cc"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <x86intrin.h>
using namespace webccl;
int main(int argc, char** argv) {
  if (argc != 3) { fprintf(stderr, "usage: %s BYTES REPS\n", argv[0]); return 2; }
  size_t bytes = atol(argv[1]);
  int reps = atoi(argv[2]);
  uint8_t* a = (uint8_t*)aligned_alloc(4096, bytes + 4096) + 64; uint8_t* b = (uint8_t*)aligned_alloc(4096, bytes + 4096) + 128; uint8_t* c = (uint8_t*)aligned_alloc(4096, bytes + 4096) + 192;
  memset(a, 0x3c, bytes); memset(b, 0x3c, bytes); memset(c, 0, bytes);
  struct K { const char* name; DType d; int op; } ks[] = {{"memcpy", DType::f32, -1},
    {"f32 sum", DType::f32, 0}, {"f16 sum", DType::f16, 0}, {"f16 prod", DType::f16, 1}, {"f16 max", DType::f16, 3}, {"f16 avg", DType::f16, 4},
    {"bf16 sum", DType::bf16, 0}, {"bf16 prod", DType::bf16, 1}, {"bf16 max", DType::bf16, 3}, {"bf16 avg", DType::bf16, 4}};
  unsigned long long best[10]; for (auto& x : best) x = ~0ull;
  for (int r = 0; r < reps; r++) for (int k = 0; k < 10; k++) {
    unsigned long long t = __rdtsc();
    if (ks[k].op == -1) { memcpy(c, b, bytes); asm volatile("" ::: "memory"); }
    else if (ks[k].op == 4) finish_average(ks[k].d, a, b, bytes / element_bytes(ks[k].d), 3);
    else reduce_accumulate(ks[k].d, (Op)ks[k].op, a, b, bytes / element_bytes(ks[k].d));
    t = __rdtsc() - t; if (t < best[k]) best[k] = t;
  }
  double copy = 2.0 * bytes / best[0];
  for (int k = 0; k < 10; k++) { double traffic = (ks[k].op == -1 || ks[k].op == 4 ? 2.0 : 3.0) * bytes / best[k]; printf("%zu %-9s %6.2f B/tsc-cycle  ratio %.2f\n", bytes, ks[k].name, traffic, traffic / copy); }
}
