// The SwitchML packet loops switchml-codec.cc chose for this CPU (AVX2 or baseline, picked at load,
// or the baseline after the switchmlSelectVariant test hook), for native code that runs them
// without a call from JS: the worker socket's native stream (switch-stream.h) and the switch's
// data plane (switch-rules.h). Read on the JS thread (where the test hook writes them) and kept
// for the whole stream, or for the job's life in the switch.
#pragma once
#include <cstddef>
#include <cstdint>

namespace webccl {

struct SwitchmlLoops {
  /** The codec exponent of each block of `block` values of x's count (one per block, into out). */
  void (*block_exponents)(const uint32_t* x, size_t count, size_t block, int32_t* out);
  /** x's count values, blocks of `block` with exponents[b], scaled for the budget, into dst (big_endian: a packet's order). */
  void (*quantize)(const uint32_t* x, size_t count, size_t block, const int32_t* exponents, uint32_t budget, uint8_t* dst, bool big_endian);
  void (*int32_to_be)(const uint32_t* x, size_t count, uint8_t* dst);
  void (*dequantize)(const uint8_t* src, size_t count, size_t block, const int32_t* exponents, float factor, uint32_t divisor, uint32_t* out, bool big_endian);
  void (*int32_from_be)(const uint8_t* src, size_t count, uint32_t divisor, int32_t* out);
  /** sums[i] += src's big-endian int32 i, wrapping (the switch's fold of a packet into a slot). */
  void (*int32_add_from_be)(const uint8_t* src, size_t count, uint32_t* sums);
  /** M = floor((2^31 - 1) / n) and fl(1/M), as the JS codec. */
  uint32_t (*budget)(uint64_t workers);
  float (*factor)(uint64_t workers);
};

SwitchmlLoops switchml_loops();

}  // namespace webccl
