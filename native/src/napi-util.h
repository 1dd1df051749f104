// Small helpers over plain N-API (node_api.h): argument reading that throws a JS Error with a
// clear message instead of crashing. Every exported function validates through these.
#pragma once
#include <node_api.h>
#include <cstddef>
#include <cstdint>
#include <string>

namespace webccl {

/** Thrown-error marker: a helper that returns false has already raised a JS exception. */
inline bool fail(napi_env env, const std::string& message) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "ERR_WEBCCL_NATIVE", message.c_str());
  return false;
}

#define WEBCCL_CHECK(env, call) \
  do { if ((call) != napi_ok) { webccl::fail(env, "N-API call failed: " #call); return nullptr; } } while (0)

struct Args {
  size_t count = 12;
  napi_value values[12];
  napi_value self = nullptr;
  void* data = nullptr;
};

inline bool get_args(napi_env env, napi_callback_info info, Args& args, size_t needed, const char* what) {
  if (napi_get_cb_info(env, info, &args.count, args.values, &args.self, &args.data) != napi_ok) return fail(env, "bad call");
  if (args.count < needed) return fail(env, std::string(what) + ": expected " + std::to_string(needed) + " arguments, got " + std::to_string(args.count));
  return true;
}

/**
 * The native object a close() method is called on, or nullptr when `this` wraps none: close is
 * idempotent and quiet, so a call on anything else does nothing rather than throw.
 */
template <class T>
T* closing_object(napi_env env, napi_callback_info info) {
  Args args;
  get_args(env, info, args, 0, "close()");
  void* object = nullptr;
  if (napi_unwrap(env, args.self, &object) != napi_ok) return nullptr;
  return static_cast<T*>(object);
}

inline bool get_string(napi_env env, napi_value value, std::string& out, const char* what) {
  napi_valuetype type;
  napi_typeof(env, value, &type);
  if (type != napi_string) return fail(env, std::string(what) + " must be a string");
  char buffer[64];
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, buffer, sizeof buffer, &length) != napi_ok) return fail(env, std::string(what) + ": unreadable string");
  out.assign(buffer, length);
  return true;
}

/** A non-negative integer below 2^53 (offsets, lengths, keys). */
inline bool get_index(napi_env env, napi_value value, uint64_t& out, const char* what) {
  napi_valuetype type;
  napi_typeof(env, value, &type);
  double number = 0;
  if (type != napi_number || napi_get_value_double(env, value, &number) != napi_ok || !(number >= 0) || number > 9007199254740991.0 || number != (double)(uint64_t)number) {
    return fail(env, std::string(what) + " must be a non-negative integer");
  }
  out = (uint64_t)number;
  return true;
}

/** Bytes per element of a TypedArray type; 0 for one this table does not know (a newer N-API's). */
inline size_t typedarray_element_bytes(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: return 8;
    default: return 0;
  }
}

/** The bytes of any TypedArray or DataView (a detached one has none). */
inline bool get_bytes(napi_env env, napi_value value, uint8_t*& data, size_t& length, const char* what) {
  bool is_view = false;
  napi_typedarray_type type;
  size_t elements = 0;
  void* raw = nullptr;
  // Asked at once, not after napi_is_typedarray (one N-API call less per small board run):
  // napi_invalid_arg is its answer for anything but a TypedArray.
  napi_status typed = napi_get_typedarray_info(env, value, &type, &elements, &raw, nullptr, nullptr);
  if (typed != napi_ok && typed != napi_invalid_arg) return fail(env, std::string(what) + ": unreadable TypedArray");
  if (typed == napi_ok) {
    data = (uint8_t*)raw;
    // Bytes from the element count and type: reading the byteLength property instead (a string
    // internalized and a getter run per call) was half the cost of the board's small run.
    size_t size = typedarray_element_bytes(type);
    if (size != 0) length = elements * size;
    else {
      napi_value byte_length;
      double b = 0;
      napi_get_named_property(env, value, "byteLength", &byte_length);
      napi_get_value_double(env, byte_length, &b);
      length = (size_t)b;
    }
    if (data == nullptr && length != 0) return fail(env, std::string(what) + ": detached buffer");
    return true;
  }
  napi_is_dataview(env, value, &is_view);
  if (is_view) {
    void* raw = nullptr;
    napi_value buffer;
    size_t offset = 0;
    if (napi_get_dataview_info(env, value, &length, &raw, &buffer, &offset) != napi_ok) return fail(env, std::string(what) + ": unreadable DataView");
    data = (uint8_t*)raw;
    return true;
  }
  return fail(env, std::string(what) + " must be a TypedArray or DataView");
}

/** object[name] = number / flag (counters handed to JS). */
inline void set_number(napi_env env, napi_value object, const char* name, double number) {
  napi_value value;
  napi_create_double(env, number, &value);
  napi_set_named_property(env, object, name, value);
}
inline void set_bool(napi_env env, napi_value object, const char* name, bool flag) {
  napi_value value;
  napi_get_boolean(env, flag, &value);
  napi_set_named_property(env, object, name, value);
}

/** A method of a class made with napi_define_class. */
inline napi_property_descriptor method(const char* name, napi_callback callback) {
  return {name, nullptr, callback, nullptr, nullptr, nullptr, napi_default, nullptr};
}

}  // namespace webccl
