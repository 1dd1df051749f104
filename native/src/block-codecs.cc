// The block int8 and 1-bit sign codecs' host work as exports (lib/native/block-codecs.ts wraps
// them for lib/cpu/host-codec.ts): int8Quantize (with or without error feedback), int8Dequantize
// (store or accumulate), onebitCompress and onebitDecompress (store or accumulate), bit-identical
// to lib/cpu/int8.ts and lib/cpu/onebit.ts (test/native-block-codecs.test.ts). The loops
// (block-kernels.inc) are built for the baseline ISA and for AVX2, one picked at load.
// Every argument is checked before a loop touches memory: exact TypedArray kinds, integer count
// and block size (a multiple of the format's 4 or 32), lengths that hold the call's elements,
// and no two arrays sharing a byte (the loops read and write whole blocks); a bad one throws
// ERR_WEBCCL_NATIVE. The int8 exports are left out on a big-endian host: the loops store the
// packed bytes in memory order, which is the format's word order only on little-endian ones.
#include <string>
#include "napi-util.h"

namespace webccl {

namespace bc_baseline {
#include "block-kernels.inc"
}

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx2")
namespace bc_avx2 {
#include "block-kernels.inc"
}
#pragma GCC pop_options
#endif

namespace {

struct Loops {
  const char* name;
  void (*int8_quantize)(const float*, float*, size_t, size_t, uint8_t*, uint32_t*);
  void (*int8_dequantize)(const uint32_t*, const uint32_t*, size_t, size_t, uint32_t*, bool);
  void (*onebit_compress)(const uint32_t*, float*, size_t, size_t, uint32_t*, uint32_t*);
  void (*onebit_decompress)(const uint32_t*, const uint32_t*, size_t, size_t, uint32_t*, bool);
};

const Loops baseline_loops = {"baseline", bc_baseline::int8_quantize, bc_baseline::int8_dequantize, bc_baseline::onebit_compress, bc_baseline::onebit_decompress};

Loops choose() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return {"avx2", bc_avx2::int8_quantize, bc_avx2::int8_dequantize, bc_avx2::onebit_compress, bc_avx2::onebit_decompress};
#endif
  return baseline_loops;
}

// Chosen once at load; blockCodecSelectVariant (a test hook) switches to the baseline loops so
// that a suite checks both builds on a machine with AVX2. Only the JS thread reads it.
Loops loops = choose();

constexpr uint64_t kMaxCount = 0x7fffffff;    // blocks.ts's MAX_CODEC_COUNT
constexpr uint64_t kMaxBlockSize = 1u << 24;  // blocks.ts's MAX_BLOCK_SIZE

/** One array argument: its memory and how many 4-byte elements the call uses of it. */
struct Array {
  uint8_t* data = nullptr;
  size_t used = 0;
  const char* name = "";
};

const char* kind_name(napi_typedarray_type kind) { return kind == napi_float32_array ? "Float32Array" : "Uint32Array"; }

/** A TypedArray of exactly `kind` holding at least `needed` elements. */
bool get_array(napi_env env, napi_value value, napi_typedarray_type kind, uint64_t needed, Array& out, const std::string& what) {
  napi_typedarray_type actual;
  size_t elements = 0;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, value, &actual, &elements, &raw, nullptr, nullptr) != napi_ok || actual != kind) {
    return fail(env, what + " must be a " + kind_name(kind));
  }
  if (raw == nullptr && elements != 0) return fail(env, what + ": detached buffer");
  if (elements < needed) return fail(env, what + ": needs " + std::to_string(needed) + " elements but holds " + std::to_string(elements));
  out.data = (uint8_t*)raw;
  out.used = needed;
  return true;
}

/** An integer in [low, high], a multiple of `multiple`. */
bool get_integer(napi_env env, napi_value value, uint64_t low, uint64_t high, uint64_t multiple, uint64_t& out, const std::string& what) {
  double number = 0;
  if (napi_get_value_double(env, value, &number) != napi_ok || !(number >= (double)low && number <= (double)high) || number != (double)(uint64_t)number ||
      (uint64_t)number % multiple != 0) {
    std::string rule = multiple > 1 ? "a multiple of " + std::to_string(multiple) + " in [" : "an integer in [";
    return fail(env, what + " is not " + rule + std::to_string(low) + ", " + std::to_string(high) + "]");
  }
  out = (uint64_t)number;
  return true;
}

/** A codec call's count and block size (arguments 2 and 3 of every export). */
bool get_layout(napi_env env, const Args& args, uint64_t multiple, uint64_t& count, uint64_t& block, const std::string& what) {
  return get_integer(env, args.values[2], 0, kMaxCount, 1, count, what + ": count") &&
         get_integer(env, args.values[3], multiple, kMaxBlockSize, multiple, block, what + ": block size");
}

/** No two of the arrays share a byte of the elements the call uses. */
bool check_arrays_disjoint(napi_env env, const Array* arrays, size_t n, const std::string& what) {
  for (size_t i = 0; i < n; i++) {
    for (size_t j = i + 1; j < n; j++) {
      const Array &a = arrays[i], &b = arrays[j];
      if (!check_disjoint(env, a.data, 4 * a.used, b.data, 4 * b.used, what + ": " + a.name + " and " + b.name)) return false;
    }
  }
  return true;
}

bool is_null_or_undefined(napi_env env, napi_value value) {
  napi_valuetype type;
  napi_typeof(env, value, &type);
  return type == napi_null || type == napi_undefined;
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/** Which codec an export runs (its napi data): int8's words hold 4 values, 1-bit's 32; block sizes are multiples of that. */
struct Format {
  const char* encoder;
  const char* decoder;
  uint64_t per_word;
  bool int8;
};

const Format kInt8 = {"int8Quantize", "int8Dequantize", 4, true};
const Format kOnebit = {"onebitCompress", "onebitDecompress", 32, false};

/** An encoder's arguments: (x, residual, count, blockSize, packed, scales); int8's residual may be null. */
struct Encode {
  const Format* format = nullptr;
  uint64_t count = 0, block = 0;
  Array x, residual, packed, scales;
  bool feedback = false;
};

bool read_encode(napi_env env, napi_callback_info info, Encode& call) {
  Args args;
  if (napi_get_cb_info(env, info, &args.count, args.values, &args.self, &args.data) != napi_ok) return fail(env, "bad call");
  call.format = (const Format*)args.data;
  std::string name = call.format->encoder;
  if (!check_arg_count(env, args, 6, (name + "(x, residual, count, blockSize, packed, scales)").c_str()) || !get_layout(env, args, call.format->per_word, call.count, call.block, name)) return false;
  call.feedback = !(call.format->int8 && is_null_or_undefined(env, args.values[1]));
  call.x.name = "x", call.residual.name = "residual", call.packed.name = "packed", call.scales.name = "scales";
  if (!get_array(env, args.values[0], napi_float32_array, call.count, call.x, name + ": x") ||
      (call.feedback && !get_array(env, args.values[1], napi_float32_array, call.count, call.residual, name + ": residual")) ||
      !get_array(env, args.values[4], napi_uint32_array, ceil_div(call.count, call.format->per_word), call.packed, name + ": packed") ||
      !get_array(env, args.values[5], napi_float32_array, ceil_div(call.count, call.block), call.scales, name + ": scales")) {
    return false;
  }
  Array arrays[] = {call.x, call.residual, call.packed, call.scales};
  return check_arrays_disjoint(env, arrays, 4, name);
}

/** A decoder's arguments: (packed, scales, count, blockSize, out, accumulate?). */
struct Decode {
  const Format* format = nullptr;
  uint64_t count = 0, block = 0;
  Array packed, scales, out;
  bool accumulate = false;
};

bool read_decode(napi_env env, napi_callback_info info, Decode& call) {
  Args args;
  if (napi_get_cb_info(env, info, &args.count, args.values, &args.self, &args.data) != napi_ok) return fail(env, "bad call");
  call.format = (const Format*)args.data;
  std::string name = call.format->decoder;
  if (!check_arg_count(env, args, 5, (name + "(packed, scales, count, blockSize, out, accumulate?)").c_str()) ||
      !get_layout(env, args, call.format->per_word, call.count, call.block, name) || !get_flag(env, args, 5, call.accumulate, name + ": accumulate")) {
    return false;
  }
  call.packed.name = "packed", call.scales.name = "scales", call.out.name = "out";
  if (!get_array(env, args.values[0], napi_uint32_array, ceil_div(call.count, call.format->per_word), call.packed, name + ": packed") ||
      !get_array(env, args.values[1], napi_float32_array, ceil_div(call.count, call.block), call.scales, name + ": scales") ||
      !get_array(env, args.values[4], napi_float32_array, call.count, call.out, name + ": out")) {
    return false;
  }
  Array arrays[] = {call.packed, call.scales, call.out};
  return check_arrays_disjoint(env, arrays, 3, name);
}

// int8Quantize(x, residual | null, count, blockSize, packed: Uint32Array, scales: Float32Array),
// onebitCompress(x, residual, count, blockSize, signs: Uint32Array, scales: Float32Array)
napi_value EncodeExport(napi_env env, napi_callback_info info) {
  Encode call;
  if (!read_encode(env, info, call)) return nullptr;
  if (call.format->int8) {
    loops.int8_quantize((const float*)call.x.data, call.feedback ? (float*)call.residual.data : nullptr, call.count, call.block, call.packed.data, (uint32_t*)call.scales.data);
  } else {
    loops.onebit_compress((const uint32_t*)call.x.data, (float*)call.residual.data, call.count, call.block, (uint32_t*)call.packed.data, (uint32_t*)call.scales.data);
  }
  return nullptr;
}

// int8Dequantize / onebitDecompress(packed, scales, count, blockSize, out, accumulate?)
napi_value DecodeExport(napi_env env, napi_callback_info info) {
  Decode call;
  if (!read_decode(env, info, call)) return nullptr;
  auto decode = call.format->int8 ? loops.int8_dequantize : loops.onebit_decompress;
  decode((const uint32_t*)call.packed.data, (const uint32_t*)call.scales.data, call.count, call.block, (uint32_t*)call.out.data, call.accumulate);
  return nullptr;
}

// blockCodecSelectVariant("baseline" | "auto"): the loops later calls run; returns their name.
napi_value SelectVariant(napi_env env, napi_callback_info info) {
  return select_variant(env, info, "blockCodecSelectVariant", loops, baseline_loops, choose);
}

}  // namespace

napi_value init_block_codecs(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"onebitCompress", nullptr, EncodeExport, nullptr, nullptr, nullptr, napi_enumerable, (void*)&kOnebit},
      {"onebitDecompress", nullptr, DecodeExport, nullptr, nullptr, nullptr, napi_enumerable, (void*)&kOnebit},
      {"blockCodecSelectVariant", nullptr, SelectVariant, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      {"int8Quantize", nullptr, EncodeExport, nullptr, nullptr, nullptr, napi_enumerable, (void*)&kInt8},
      {"int8Dequantize", nullptr, DecodeExport, nullptr, nullptr, nullptr, napi_enumerable, (void*)&kInt8},
#endif
  };
  WEBCCL_CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  napi_value variant;
  WEBCCL_CHECK(env, napi_create_string_utf8(env, loops.name, NAPI_AUTO_LENGTH, &variant));
  WEBCCL_CHECK(env, napi_set_named_property(env, exports, "blockCodecVariant", variant));
  return exports;
}

}  // namespace webccl
