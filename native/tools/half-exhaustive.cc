// Every pair of 16-bit patterns (2^32, both operand orders) through the AVX2/F16C loops of
// half-simd.cc and the scalar baseline loops of kernels.inc (which test/native-reduce.test.ts
// holds bit-identical to the TypeScript oracle), for f16 and bf16 and every op, then every
// value through the average: the two must agree bit for bit. A manual check (about 3 minutes
// on one core; STEP > 1 samples every STEP-th first operand), too slow for the suite:
//   g++ -O2 -std=c++17 -ffp-contract=off -fno-trapping-math -ftree-vectorize native/tools/half-exhaustive.cc \
//       native/src/half-simd.cc -o /tmp/half-exhaustive && /tmp/half-exhaustive [STEP]
#include "../src/reduce.cc"
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cstring>
using namespace webccl;
int main(int argc, char** argv) {
  const char* names[] = {"sum","prod","min","max"};
  size_t N = 65536;
  std::vector<uint16_t> a(N), b(N), r1(N), r2(N);
  int step = argc > 1 ? atoi(argv[1]) : 1;
  long bad = 0;
  for (int dt = 0; dt < 2; dt++) {
    DType dtype = dt ? DType::bf16 : DType::f16;
    for (int op = 0; op < 4; op++) {
      for (uint32_t hi = 0; hi < 65536; hi += step) {
        for (size_t i = 0; i < N; i++) { a[i] = (uint16_t)hi; b[i] = (uint16_t)i; }
        // into a third array (the combine's separate output): a op b
        size_t done = half_simd_combine(dtype, (Op)op, r2.data(), a.data(), b.data(), N);
        baseline::combine(dtype, (Op)op, r1.data(), a.data(), b.data(), N);
        if (done != N) { printf("done %zu\n", done); return 2; }
        if (memcmp(r1.data(), r2.data(), N * 2)) {
          for (size_t i = 0; i < N; i++) if (r1[i] != r2[i]) { if (bad++ < 10) printf("%s %s a=%04x b=%04zx scalar=%04x simd=%04x\n", dt?"bf16":"f16", names[op], hi, i, r1[i], r2[i]); }
        }
        // swapped operand order too, accumulated in place (dst is the first operand)
        r1 = b; r2 = b;
        baseline::combine(dtype, (Op)op, r1.data(), r1.data(), a.data(), N);
        half_simd_combine(dtype, (Op)op, r2.data(), r2.data(), a.data(), N);
        if (memcmp(r1.data(), r2.data(), N * 2)) bad++;
      }
    }
    for (uint32_t div : {1u, 2u, 3u, 7u, 0x7fffffffu}) {
      for (size_t i = 0; i < N; i++) b[i] = (uint16_t)i;
      baseline::average(dtype, r1.data(), b.data(), N, div);
      half_simd_average(dtype, r2.data(), b.data(), N, average_factor(div), div > 1);
      if (memcmp(r1.data(), r2.data(), N * 2)) { bad++; printf("avg %s div %u differs\n", dt?"bf16":"f16", div); }
    }
  }
  printf("mismatches: %ld\n", bad);
  return bad != 0;
}
