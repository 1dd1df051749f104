# Built by native/build.mjs (npm's install script), never by npm's implicit `node-gyp rebuild`:
# this file lives in native/, not at the package root, so an install on a machine without a
# compiler cannot fail on it. Plain N-API (node_api.h): no npm dependency, ABI-stable across Node.
{
  "targets": [
    {
      "target_name": "webccl_native",
      "sources": ["src/addon.cc", "src/reduce.cc", "src/half-simd.cc", "src/half-simd512.cc", "src/float-simd.cc", "src/divide-simd.cc", "src/half-fold.cc", "src/provider-common.cc", "src/shm.cc", "src/tcp.cc", "src/switch-dp.cc", "src/switch-worker.cc", "src/switchml-codec.cc", "src/block-codecs.cc", "src/board.cc", "src/cross-memory.cc", "src/host-buffer.cc", "src/affinity.cc"],
      # -O2 for all code; the reduction adds its own AVX2 copies (#pragma GCC target) chosen at
      # run time, so the shipped binary runs on any x86-64 (never -march=native).
      # -ffp-contract=off: no a*b+c fusion, results stay bit-identical to the TS oracle.
      # -fno-trapping-math: lets the vectorizer compute both sides of a float select (min/max,
      # NaN picks); it changes no result, only which FP exception flags may be raised.
      "cflags!": ["-O3", "-fno-exceptions"],
      "cflags_cc!": ["-O3", "-fno-exceptions"],
      "cflags_cc": ["-O2", "-std=c++17", "-fvect-cost-model=dynamic", "-ftree-vectorize", "-ffp-contract=off", "-fno-trapping-math", "-fno-exceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
