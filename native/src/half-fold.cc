// The host codec's 16-bit work as exports (lib/native/half-fold.ts wraps them): halfWidenAccumulate
// (decode a bf16/fp16 payload and add it into an f32 accumulator, the sum's NaN rule included)
// and halfNarrow (round f32 values into a payload), bit-identical to lib/cpu/cast.ts's
// widenAccumulate and narrowBits. The loops are reduce.cc's dispatch (AVX2+F16C or scalar).
// Arguments are checked before any loop runs: exact TypedArray kinds, equal element counts and
// no overlap (the SIMD loops read a block before writing it, the TypeScript ones element by element).
#include <string>
#include "napi-util.h"
#include "reduce.h"

namespace webccl {

namespace {

bool parse_half(napi_env env, napi_value value, DType& out, const char* what) {
  std::string name;
  if (!get_string(env, value, name, what)) return false;
  if (name == "float16") out = DType::f16;
  else if (name == "bfloat16") out = DType::bf16;
  else return fail(env, std::string(what) + ": unknown 16-bit type " + name + " (expected float16 or bfloat16)");
  return true;
}

const char* kind_name(napi_typedarray_type kind) {
  switch (kind) {
    case napi_float32_array: return "Float32Array";
    case napi_uint32_array: return "Uint32Array";
    default: return "Uint16Array";
  }
}

/** A TypedArray of kind `kind` (or `other`, when given): its data and element count. */
bool get_array(napi_env env, napi_value value, napi_typedarray_type kind, napi_typedarray_type other, uint8_t*& data, size_t& elements, const char* what) {
  napi_typedarray_type actual;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, value, &actual, &elements, &raw, nullptr, nullptr) != napi_ok || (actual != kind && actual != other)) {
    std::string expected = kind_name(kind);
    if (other != kind) expected += std::string(" or a ") + kind_name(other);
    return fail(env, std::string(what) + " must be a " + expected);
  }
  data = (uint8_t*)raw;
  if (data == nullptr && elements != 0) return fail(env, std::string(what) + ": detached buffer");
  return true;
}

/** The f32 side (4 bytes an element) and the 16-bit side hold the same count and share no byte. */
bool check_pair(napi_env env, const uint8_t* wide, size_t wide_count, const uint8_t* half, size_t half_count, const char* what) {
  if (wide_count != half_count) return fail(env, std::string(what) + ": " + std::to_string(wide_count) + " f32 values but " + std::to_string(half_count) + " 16-bit values");
  if (wide_count != 0 && wide < half + half_count * 2 && half < wide + wide_count * 4) return fail(env, std::string(what) + ": the f32 and 16-bit arrays overlap");
  return true;
}

napi_value HalfWidenAccumulate(napi_env env, napi_callback_info info) {
  Args args;
  DType dtype;
  uint8_t *acc, *src;
  size_t acc_count, src_count;
  const char* what = "halfWidenAccumulate(type, acc, src)";
  if (!get_args(env, info, args, 3, what) || !parse_half(env, args.values[0], dtype, "type") ||
      !get_array(env, args.values[1], napi_float32_array, napi_float32_array, acc, acc_count, "acc") ||
      !get_array(env, args.values[2], napi_uint16_array, napi_uint16_array, src, src_count, "src") ||
      !check_pair(env, acc, acc_count, src, src_count, what)) {
    return nullptr;
  }
  half_widen_accumulate(dtype, acc, src, acc_count);
  return nullptr;
}

napi_value HalfNarrow(napi_env env, napi_callback_info info) {
  Args args;
  DType dtype;
  uint8_t *dst, *src;
  size_t dst_count, src_count;
  const char* what = "halfNarrow(type, dst, src)";
  if (!get_args(env, info, args, 3, what) || !parse_half(env, args.values[0], dtype, "type") ||
      !get_array(env, args.values[1], napi_uint16_array, napi_uint16_array, dst, dst_count, "dst") ||
      !get_array(env, args.values[2], napi_float32_array, napi_uint32_array, src, src_count, "src") ||
      !check_pair(env, src, src_count, dst, dst_count, what)) {
    return nullptr;
  }
  half_narrow(dtype, dst, src, dst_count);
  return nullptr;
}

}  // namespace

napi_value init_half_fold(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"halfWidenAccumulate", nullptr, HalfWidenAccumulate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"halfNarrow", nullptr, HalfNarrow, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  WEBCCL_CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

}  // namespace webccl
