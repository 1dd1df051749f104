// A SwitchML worker's per-value work in native code: block exponents, quantizing float32 into
// a packet's big-endian int32 values (or, littleEndian, a CPU memory space's int32 region), int32
// values to and from big-endian, and dequantizing a result packet's (or region's) sums.
// Bit-identical to lib/cpu/switchml.ts (the oracle, and the fallback when the addon is missing);
// lib/native/switchml-codec.ts wraps these for lib/switch/allreduce-stream.ts and CPU memory. Every argument is checked here (array kinds, integer ranges,
// bounds, overlap) before a loop touches memory; a bad one throws ERR_WEBCCL_NATIVE.
#include <string>
#include "napi-util.h"
#include "switchml-codec.h"

namespace webccl {

namespace sw_baseline {
#include "switchml-kernels.inc"
}

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx2")
namespace sw_avx2 {
#include "switchml-kernels.inc"
}
#pragma GCC pop_options
#endif

namespace {

struct Kernels {
  const char* name;
  void (*block_exponents)(const uint32_t*, size_t, size_t, int32_t*);
  void (*quantize)(const uint32_t*, size_t, size_t, const int32_t*, uint32_t, uint8_t*, bool);
  void (*int32_to_be)(const uint32_t*, size_t, uint8_t*);
  void (*dequantize)(const uint8_t*, size_t, size_t, const int32_t*, float, uint32_t, uint32_t*, bool);
  void (*int32_from_be)(const uint8_t*, size_t, uint32_t, int32_t*);
  void (*int32_add_from_be)(const uint8_t*, size_t, uint32_t*);
};

const Kernels baseline_kernels = {"baseline", sw_baseline::sw_block_exponents, sw_baseline::sw_quantize, sw_baseline::int32_to_be, sw_baseline::sw_dequantize,
                                  sw_baseline::sw_int32_from_be, sw_baseline::int32_add_from_be};

bool has_avx2() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

Kernels choose() {
#if defined(__x86_64__)
  if (has_avx2()) return {"avx2", sw_avx2::sw_block_exponents, sw_avx2::sw_quantize, sw_avx2::int32_to_be, sw_avx2::sw_dequantize, sw_avx2::sw_int32_from_be, sw_avx2::int32_add_from_be};
#endif
  return baseline_kernels;
}

// Chosen once at load; switchmlSelectVariant (a test hook) switches to the baseline loops so
// that a suite checks both builds on a machine with AVX2. Only the JS thread reads it.
Kernels kernels = choose();

constexpr uint64_t kMaxCount = 0x7fffffff;     // blocks.ts's MAX_CODEC_COUNT
constexpr uint64_t kMaxBlockSize = 1u << 24;   // blocks.ts's MAX_BLOCK_SIZE
constexpr uint64_t kMaxWorkers = 0x7fffffff;   // switchml.ts's checkWorkers

/** A region of caller memory: where it starts and how many bytes it spans. */
struct Span {
  uint8_t* data = nullptr;
  size_t bytes = 0;
  size_t elements = 0;
};

const char* kind_name(napi_typedarray_type kind) {
  switch (kind) {
    case napi_float32_array: return "Float32Array";
    case napi_int32_array: return "Int32Array";
    default: return "Uint8Array";
  }
}

// The readers below make as few N-API calls as they can (one per argument: napi_get_typedarray_info
// and napi_get_value_double fail on a value of another type), since a 64-value packet's work
// is a few nanoseconds per value and each N-API call costs tens of nanoseconds.

/** A TypedArray of exactly `kind`. */
bool get_typed(napi_env env, napi_value value, napi_typedarray_type kind, Span& out, const char* what) {
  napi_typedarray_type actual;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, value, &actual, &out.elements, &raw, nullptr, nullptr) != napi_ok || actual != kind) {
    return fail(env, std::string(what) + " must be a " + kind_name(kind));
  }
  out.data = (uint8_t*)raw;
  out.bytes = out.elements * 4;
  if (out.data == nullptr && out.elements != 0) return fail(env, std::string(what) + ": detached buffer");
  return true;
}

/** A packet: a DataView or a Uint8Array. */
bool get_packet(napi_env env, napi_value value, Span& out, const char* what) {
  void* raw = nullptr;
  if (napi_get_dataview_info(env, value, &out.bytes, &raw, nullptr, nullptr) == napi_ok) {
    out.elements = out.bytes;
  } else {
    napi_typedarray_type actual;
    if (napi_get_typedarray_info(env, value, &actual, &out.elements, &raw, nullptr, nullptr) != napi_ok || actual != napi_uint8_array) {
      return fail(env, std::string(what) + " must be a Uint8Array or a DataView");
    }
    out.bytes = out.elements;
  }
  out.data = (uint8_t*)raw;
  if (out.data == nullptr && out.bytes != 0) return fail(env, std::string(what) + ": detached buffer");
  return true;
}

/** An integer in [low, high]. */
bool get_integer(napi_env env, napi_value value, uint64_t low, uint64_t high, uint64_t& out, const char* what) {
  double number = 0;
  if (napi_get_value_double(env, value, &number) != napi_ok || !(number >= (double)low && number <= (double)high) || number != (double)(uint64_t)number) {
    return fail(env, std::string(what) + " must be an integer in [" + std::to_string(low) + ", " + std::to_string(high) + "]");
  }
  out = (uint64_t)number;
  return true;
}

/** `count` elements of `size` bytes from element `start` (or byte `start` when size is 1) lie inside `span`. */
bool check_range(napi_env env, const Span& span, uint64_t start, uint64_t count, const char* what, const char* unit) {
  if (start > span.elements || count > span.elements - start) {
    return fail(env, std::string(what) + ": " + std::to_string(start) + " + " + std::to_string(count) + " " + unit + " exceeds its " + std::to_string(span.elements));
  }
  return true;
}

uint64_t block_count(uint64_t count, uint64_t block) { return (count + block - 1) / block; }

/** M = floor((2^31 - 1) / n) and r = fl(1/M), as switchmlWorkerBudget and switchmlDequantizeFactor. */
uint32_t worker_budget(uint64_t workers) { return (uint32_t)(0x7fffffffu / workers); }
float dequantize_factor(uint64_t workers) { return (float)(1.0 / (double)worker_budget(workers)); }

// switchmlBlockExponents(x: Float32Array, start, count, blockSize, out: Int32Array, outStart)
napi_value BlockExponents(napi_env env, napi_callback_info info) {
  Args args;
  Span x, out;
  uint64_t start, count, block, out_start;
  if (!get_args(env, info, args, 6, "switchmlBlockExponents(x, start, count, blockSize, out, outStart)") ||
      !get_typed(env, args.values[0], napi_float32_array, x, "switchmlBlockExponents: x") || !get_integer(env, args.values[1], 0, kMaxCount, start, "switchmlBlockExponents: start") ||
      !get_integer(env, args.values[2], 0, kMaxCount, count, "switchmlBlockExponents: count") || !get_integer(env, args.values[3], 1, kMaxBlockSize, block, "switchmlBlockExponents: blockSize") ||
      !get_typed(env, args.values[4], napi_int32_array, out, "switchmlBlockExponents: out") || !get_integer(env, args.values[5], 0, kMaxCount, out_start, "switchmlBlockExponents: outStart") ||
      !check_range(env, x, start, count, "switchmlBlockExponents: x", "elements") || !check_range(env, out, out_start, block_count(count, block), "switchmlBlockExponents: out", "exponents")) {
    return nullptr;
  }
  uint64_t blocks = block_count(count, block);
  if (!check_disjoint(env, x.data + 4 * start, 4 * count, out.data + 4 * out_start, 4 * blocks, "switchmlBlockExponents: x and out")) return nullptr;
  if (count != 0) kernels.block_exponents((const uint32_t*)x.data + start, count, block, (int32_t*)out.data + out_start);
  return nullptr;
}

// switchmlQuantize(x: Float32Array, start, count, blockSize, exponents: Int32Array, exponentStart, workers, packet, byteOffset, littleEndian?)
napi_value Quantize(napi_env env, napi_callback_info info) {
  Args args;
  Span x, exponents, packet;
  uint64_t start, count, block, exp_start, workers, offset;
  bool little = false;
  if (!get_args(env, info, args, 9, "switchmlQuantize(x, start, count, blockSize, exponents, exponentStart, workers, packet, byteOffset)") ||
      !get_typed(env, args.values[0], napi_float32_array, x, "switchmlQuantize: x") || !get_integer(env, args.values[1], 0, kMaxCount, start, "switchmlQuantize: start") ||
      !get_integer(env, args.values[2], 0, kMaxCount, count, "switchmlQuantize: count") || !get_integer(env, args.values[3], 1, kMaxBlockSize, block, "switchmlQuantize: blockSize") ||
      !get_typed(env, args.values[4], napi_int32_array, exponents, "switchmlQuantize: exponents") ||
      !get_integer(env, args.values[5], 0, kMaxCount, exp_start, "switchmlQuantize: exponentStart") || !get_integer(env, args.values[6], 1, kMaxWorkers, workers, "switchmlQuantize: workers") ||
      !get_packet(env, args.values[7], packet, "switchmlQuantize: packet") || !get_integer(env, args.values[8], 0, kMaxCount, offset, "switchmlQuantize: byteOffset") ||
      !get_flag(env, args, 9, little, "switchmlQuantize: littleEndian") ||
      !check_range(env, x, start, count, "switchmlQuantize: x", "elements") ||
      !check_range(env, exponents, exp_start, block_count(count, block), "switchmlQuantize: exponents", "exponents") ||
      !check_range(env, packet, offset, 4 * count, "switchmlQuantize: packet", "bytes")) {
    return nullptr;
  }
  uint8_t* dst = packet.data + offset;
  const uint8_t* agreed = exponents.data + 4 * exp_start;
  if (!check_disjoint(env, x.data + 4 * start, 4 * count, dst, 4 * count, "switchmlQuantize: x and packet") ||
      !check_disjoint(env, agreed, 4 * block_count(count, block), dst, 4 * count, "switchmlQuantize: exponents and packet")) {
    return nullptr;
  }
  if (count != 0) kernels.quantize((const uint32_t*)x.data + start, count, block, (const int32_t*)agreed, worker_budget(workers), dst, !little);
  return nullptr;
}

// int32ToBigEndian(x: Int32Array, start, count, packet, byteOffset)
napi_value Int32ToBigEndian(napi_env env, napi_callback_info info) {
  Args args;
  Span x, packet;
  uint64_t start, count, offset;
  if (!get_args(env, info, args, 5, "int32ToBigEndian(x, start, count, packet, byteOffset)") ||
      !get_typed(env, args.values[0], napi_int32_array, x, "int32ToBigEndian: x") || !get_integer(env, args.values[1], 0, kMaxCount, start, "int32ToBigEndian: start") ||
      !get_integer(env, args.values[2], 0, kMaxCount, count, "int32ToBigEndian: count") || !get_packet(env, args.values[3], packet, "int32ToBigEndian: packet") ||
      !get_integer(env, args.values[4], 0, kMaxCount, offset, "int32ToBigEndian: byteOffset") || !check_range(env, x, start, count, "int32ToBigEndian: x", "elements") ||
      !check_range(env, packet, offset, 4 * count, "int32ToBigEndian: packet", "bytes") ||
      !check_disjoint(env, x.data + 4 * start, 4 * count, packet.data + offset, 4 * count, "int32ToBigEndian: x and packet")) {
    return nullptr;
  }
  if (count != 0) kernels.int32_to_be((const uint32_t*)x.data + start, count, packet.data + offset);
  return nullptr;
}

// switchmlDequantize(packet, byteOffset, count, blockSize, exponents: Int32Array, exponentStart, workers, divisor, out: Float32Array, outStart, littleEndian?)
napi_value Dequantize(napi_env env, napi_callback_info info) {
  Args args;
  Span packet, exponents, out;
  uint64_t offset, count, block, exp_start, workers, divisor, out_start;
  bool little = false;
  if (!get_args(env, info, args, 10, "switchmlDequantize(packet, byteOffset, count, blockSize, exponents, exponentStart, workers, divisor, out, outStart)") ||
      !get_packet(env, args.values[0], packet, "switchmlDequantize: packet") || !get_integer(env, args.values[1], 0, kMaxCount, offset, "switchmlDequantize: byteOffset") ||
      !get_integer(env, args.values[2], 0, kMaxCount, count, "switchmlDequantize: count") || !get_integer(env, args.values[3], 1, kMaxBlockSize, block, "switchmlDequantize: blockSize") ||
      !get_typed(env, args.values[4], napi_int32_array, exponents, "switchmlDequantize: exponents") ||
      !get_integer(env, args.values[5], 0, kMaxCount, exp_start, "switchmlDequantize: exponentStart") || !get_integer(env, args.values[6], 1, kMaxWorkers, workers, "switchmlDequantize: workers") ||
      !get_integer(env, args.values[7], 1, kMaxWorkers, divisor, "switchmlDequantize: divisor") || !get_typed(env, args.values[8], napi_float32_array, out, "switchmlDequantize: out") ||
      !get_integer(env, args.values[9], 0, kMaxCount, out_start, "switchmlDequantize: outStart") || !get_flag(env, args, 10, little, "switchmlDequantize: littleEndian") || !check_range(env, packet, offset, 4 * count, "switchmlDequantize: packet", "bytes") ||
      !check_range(env, exponents, exp_start, block_count(count, block), "switchmlDequantize: exponents", "exponents") ||
      !check_range(env, out, out_start, count, "switchmlDequantize: out", "elements")) {
    return nullptr;
  }
  uint8_t* dst = out.data + 4 * out_start;
  const uint8_t* agreed = exponents.data + 4 * exp_start;
  if (!check_disjoint(env, packet.data + offset, 4 * count, dst, 4 * count, "switchmlDequantize: packet and out") ||
      !check_disjoint(env, agreed, 4 * block_count(count, block), dst, 4 * count, "switchmlDequantize: exponents and out")) {
    return nullptr;
  }
  if (count != 0) kernels.dequantize(packet.data + offset, count, block, (const int32_t*)agreed, dequantize_factor(workers), (uint32_t)divisor, (uint32_t*)dst, !little);
  return nullptr;
}

// int32FromBigEndian(packet, byteOffset, count, divisor, out: Int32Array, outStart)
napi_value Int32FromBigEndian(napi_env env, napi_callback_info info) {
  Args args;
  Span packet, out;
  uint64_t offset, count, divisor, out_start;
  if (!get_args(env, info, args, 6, "int32FromBigEndian(packet, byteOffset, count, divisor, out, outStart)") ||
      !get_packet(env, args.values[0], packet, "int32FromBigEndian: packet") || !get_integer(env, args.values[1], 0, kMaxCount, offset, "int32FromBigEndian: byteOffset") ||
      !get_integer(env, args.values[2], 0, kMaxCount, count, "int32FromBigEndian: count") || !get_integer(env, args.values[3], 1, kMaxWorkers, divisor, "int32FromBigEndian: divisor") ||
      !get_typed(env, args.values[4], napi_int32_array, out, "int32FromBigEndian: out") || !get_integer(env, args.values[5], 0, kMaxCount, out_start, "int32FromBigEndian: outStart") ||
      !check_range(env, packet, offset, 4 * count, "int32FromBigEndian: packet", "bytes") || !check_range(env, out, out_start, count, "int32FromBigEndian: out", "elements") ||
      !check_disjoint(env, packet.data + offset, 4 * count, out.data + 4 * out_start, 4 * count, "int32FromBigEndian: packet and out")) {
    return nullptr;
  }
  if (count != 0) kernels.int32_from_be(packet.data + offset, count, (uint32_t)divisor, (int32_t*)out.data + out_start);
  return nullptr;
}

// switchmlSelectVariant("baseline" | "auto"): the loops later calls run; returns their name.
napi_value SelectVariant(napi_env env, napi_callback_info info) {
  return select_variant(env, info, "switchmlSelectVariant", kernels, baseline_kernels, choose);
}

}  // namespace

SwitchmlLoops switchml_loops() {
  return {kernels.block_exponents, kernels.quantize, kernels.int32_to_be, kernels.dequantize, kernels.int32_from_be, kernels.int32_add_from_be, worker_budget, dequantize_factor};
}

napi_value init_switchml_codec(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"switchmlBlockExponents", nullptr, BlockExponents, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"switchmlQuantize", nullptr, Quantize, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"int32ToBigEndian", nullptr, Int32ToBigEndian, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"switchmlDequantize", nullptr, Dequantize, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"int32FromBigEndian", nullptr, Int32FromBigEndian, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"switchmlSelectVariant", nullptr, SelectVariant, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  WEBCCL_CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  napi_value variant;
  WEBCCL_CHECK(env, napi_create_string_utf8(env, kernels.name, NAPI_AUTO_LENGTH, &variant));
  WEBCCL_CHECK(env, napi_set_named_property(env, exports, "switchmlVariant", variant));
  return exports;
}

}  // namespace webccl
