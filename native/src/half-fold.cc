// The host codec's 16-bit work as exports (lib/native/half-fold.ts wraps them): halfWidenAccumulate
// (decode a bf16/fp16 payload and add it into an f32 accumulator, the sum's NaN rule included),
// halfNarrow (round f32 values into a payload) and halfWiden (decode a payload), bit-identical to
// lib/cpu/cast.ts's widenAccumulate, narrowBits and widenBits. The loops are reduce.cc's dispatch (AVX2+F16C or scalar).
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

/** Both exports' arguments: the type, one f32 array (`wide`) and one 16-bit array of the same count. */
struct HalfCall {
  DType dtype = DType::f16;
  uint8_t* wide = nullptr;
  uint8_t* half = nullptr;
  size_t count = 0;
};

/** Where a call's arrays sit: the f32 one at argument `wide_at` (1 or 2), the 16-bit one at the other. */
struct Layout {
  const char* what;
  size_t wide_at;
  const char* wide_name;
  napi_typedarray_type wide_other;  // accepted beside Float32Array (its bits)
  const char* half_name;
};

const Layout kFold = {"halfWidenAccumulate(type, acc, src)", 1, "acc", napi_float32_array, "src"};
const Layout kNarrow = {"halfNarrow(type, dst, src)", 2, "src", napi_uint32_array, "dst"};
const Layout kWiden = {"halfWiden(type, dst, src)", 1, "dst", napi_uint32_array, "src"};

bool read_call(napi_env env, napi_callback_info info, const Layout& layout, HalfCall& call) {
  Args args;
  size_t half_count = 0;
  if (!get_args(env, info, args, 3, layout.what) || !parse_half(env, args.values[0], call.dtype, "type")) return false;
  napi_value wide = args.values[layout.wide_at], half = args.values[3 - layout.wide_at];
  return get_array(env, wide, napi_float32_array, layout.wide_other, call.wide, call.count, layout.wide_name) &&
         get_array(env, half, napi_uint16_array, napi_uint16_array, call.half, half_count, layout.half_name) &&
         check_pair(env, call.wide, call.count, call.half, half_count, layout.what);
}

napi_value HalfWidenAccumulate(napi_env env, napi_callback_info info) {
  HalfCall call;
  if (read_call(env, info, kFold, call)) half_widen_accumulate(call.dtype, call.wide, call.half, call.count);
  return nullptr;
}

napi_value HalfNarrow(napi_env env, napi_callback_info info) {
  HalfCall call;
  if (read_call(env, info, kNarrow, call)) half_narrow(call.dtype, call.half, call.wide, call.count);
  return nullptr;
}

napi_value HalfWiden(napi_env env, napi_callback_info info) {
  HalfCall call;
  if (read_call(env, info, kWiden, call)) half_widen(call.dtype, call.wide, call.half, call.count);
  return nullptr;
}

}  // namespace

napi_value init_half_fold(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"halfWidenAccumulate", nullptr, HalfWidenAccumulate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"halfNarrow", nullptr, HalfNarrow, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"halfWiden", nullptr, HalfWiden, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  WEBCCL_CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

}  // namespace webccl
