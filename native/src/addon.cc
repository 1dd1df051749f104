// The module's exports: the SIMD reduction (reduceAccumulate, finishAverage; the host codec's
// 16-bit fold and rounding in half-fold.cc), a plain memcpy
// for bandwidth comparisons, the RDMA-semantics providers shm (shm.cc) and tcp (tcp.cc), and the
// software switch's data plane (switch-dp.cc), its workers' batched UDP socket (switch-worker.cc),
// their per-value SwitchML codec (switchml-codec.cc) and the shared-memory collective board (board.cc).
#include <cstring>
#include "napi-util.h"
#include "reduce.h"

namespace webccl {

napi_value init_shm(napi_env env, napi_value exports);
napi_value init_tcp(napi_env env, napi_value exports);
napi_value init_switch(napi_env env, napi_value exports);
napi_value init_switch_worker(napi_env env, napi_value exports);
napi_value init_switchml_codec(napi_env env, napi_value exports);
napi_value init_board(napi_env env, napi_value exports);
napi_value init_host_buffers(napi_env env, napi_value exports);
napi_value init_affinity(napi_env env, napi_value exports);
napi_value init_half_fold(napi_env env, napi_value exports);
napi_value init_block_codecs(napi_env env, napi_value exports);

// parse_dtype and parse_op are shared with tcp.cc (its expected receives fold natively).
bool parse_dtype(napi_env env, napi_value value, DType& out) {
  std::string name;
  if (!get_string(env, value, name, "dtype")) return false;
  if (name == "float32") out = DType::f32;
  else if (name == "float16") out = DType::f16;
  else if (name == "bfloat16") out = DType::bf16;
  else if (name == "int32") out = DType::i32;
  else if (name == "uint32") out = DType::u32;
  else return fail(env, "unknown dtype " + name + " (expected float32, float16, bfloat16, int32 or uint32)");
  return true;
}

bool parse_op(napi_env env, napi_value value, Op& out) {
  std::string name;
  if (!get_string(env, value, name, "op")) return false;
  // avg accumulates as a plain sum (the division comes once, in finishAverage), as in the oracle.
  if (name == "sum" || name == "avg") out = Op::sum;
  else if (name == "prod") out = Op::prod;
  else if (name == "min") out = Op::min;
  else if (name == "max") out = Op::max;
  else return fail(env, "unknown op " + name + " (expected sum, prod, min, max or avg)");
  return true;
}

namespace {

/** dst and src: same byte length, a whole number of elements. */
bool element_views(napi_env env, napi_value d, napi_value s, DType dtype, uint8_t*& dst, uint8_t*& src, size_t& count) {
  size_t dst_len = 0, src_len = 0;
  if (!get_bytes(env, d, dst, dst_len, "dst") || !get_bytes(env, s, src, src_len, "src")) return false;
  size_t bytes = element_bytes(dtype);
  if (dst_len != src_len) return fail(env, "dst holds " + std::to_string(dst_len) + " bytes but src " + std::to_string(src_len));
  if (dst_len % bytes != 0) return fail(env, std::to_string(dst_len) + " bytes is not a whole number of " + std::to_string(bytes) + "-byte elements");
  // Elementwise in place is fine; a partial overlap would read results as inputs.
  if (dst != src && dst < src + src_len && src < dst + dst_len) return fail(env, "dst and src overlap partially");
  count = dst_len / bytes;
  return true;
}

napi_value ReduceAccumulate(napi_env env, napi_callback_info info) {
  Args args;
  DType dtype;
  Op op;
  uint8_t *dst, *src;
  size_t count;
  if (!get_args(env, info, args, 4, "reduceAccumulate(dtype, op, dst, src)") || !parse_dtype(env, args.values[0], dtype) ||
      !parse_op(env, args.values[1], op) || !element_views(env, args.values[2], args.values[3], dtype, dst, src, count)) {
    return nullptr;
  }
  reduce_accumulate(dtype, op, dst, src, count);
  return nullptr;
}

napi_value FinishAverage(napi_env env, napi_callback_info info) {
  Args args;
  DType dtype;
  uint8_t *dst, *src;
  size_t count;
  uint64_t divisor;
  if (!get_args(env, info, args, 4, "finishAverage(dtype, dst, src, divisor)") || !parse_dtype(env, args.values[0], dtype) ||
      !element_views(env, args.values[1], args.values[2], dtype, dst, src, count) || !get_index(env, args.values[3], divisor, "divisor")) {
    return nullptr;
  }
  if (divisor < 1 || divisor > 0x7fffffff) return fail(env, "divisor " + std::to_string(divisor) + " is not an integer in 1 .. 2^31-1"), nullptr;
  finish_average(dtype, dst, src, count, (uint32_t)divisor);
  return nullptr;
}

/** memcpy(dst, src): the bandwidth reference the reduction is measured against. */
napi_value Memcpy(napi_env env, napi_callback_info info) {
  Args args;
  uint8_t *dst, *src;
  size_t dst_len, src_len;
  if (!get_args(env, info, args, 2, "memcpy(dst, src)") || !get_bytes(env, args.values[0], dst, dst_len, "dst") ||
      !get_bytes(env, args.values[1], src, src_len, "src")) {
    return nullptr;
  }
  if (dst_len != src_len) return fail(env, "dst holds " + std::to_string(dst_len) + " bytes but src " + std::to_string(src_len)), nullptr;
  memmove(dst, src, dst_len);
  return nullptr;
}

// reduceSelectVariant(name): later reductions run that variant ("auto": the load-time choice);
// returns its name. A name this CPU cannot run, or no such name, is an error naming the choices.
napi_value ReduceSelectVariant(napi_env env, napi_callback_info info) {
  Args args;
  std::string wanted;
  if (!get_args(env, info, args, 1, "reduceSelectVariant(variant)") || !get_string(env, args.values[0], wanted, "reduceSelectVariant: variant")) return nullptr;
  const char* selected = reduce_select_variant(wanted.c_str());
  if (selected == nullptr) {
    std::string choices = "auto";
    for (const char* name : reduce_variants()) choices += std::string(", ") + name;
    return fail(env, "reduceSelectVariant: this CPU runs " + choices + ", not " + wanted), nullptr;
  }
  napi_value result;
  WEBCCL_CHECK(env, napi_create_string_utf8(env, selected, NAPI_AUTO_LENGTH, &result));
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"reduceAccumulate", nullptr, ReduceAccumulate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"finishAverage", nullptr, FinishAverage, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"memcpy", nullptr, Memcpy, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"reduceSelectVariant", nullptr, ReduceSelectVariant, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  WEBCCL_CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  napi_value variant;
  WEBCCL_CHECK(env, napi_create_string_utf8(env, reduce_variant(), NAPI_AUTO_LENGTH, &variant));
  WEBCCL_CHECK(env, napi_set_named_property(env, exports, "reduceVariant", variant));
  const std::vector<const char*> names = reduce_variants();
  napi_value variants;
  WEBCCL_CHECK(env, napi_create_array_with_length(env, names.size(), &variants));
  for (size_t i = 0; i < names.size(); i++) {
    napi_value name;
    WEBCCL_CHECK(env, napi_create_string_utf8(env, names[i], NAPI_AUTO_LENGTH, &name));
    WEBCCL_CHECK(env, napi_set_element(env, variants, (uint32_t)i, name));
  }
  WEBCCL_CHECK(env, napi_set_named_property(env, exports, "reduceVariants", variants));
  return init_block_codecs(env, init_half_fold(env, init_affinity(env, init_host_buffers(env, init_board(env, init_switchml_codec(env, init_switch_worker(env, init_switch(env, init_tcp(env, init_shm(env, exports))))))))));
}

}  // namespace
}  // namespace webccl

NAPI_MODULE(NODE_GYP_MODULE_NAME, webccl::Init)
