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

/** At least `needed` arguments came (checked apart where the message needs the call's data first). */
inline bool check_arg_count(napi_env env, const Args& args, size_t needed, const char* what) {
  if (args.count < needed) return fail(env, std::string(what) + ": expected " + std::to_string(needed) + " arguments, got " + std::to_string(args.count));
  return true;
}

inline bool get_args(napi_env env, napi_callback_info info, Args& args, size_t needed, const char* what) {
  if (napi_get_cb_info(env, info, &args.count, args.values, &args.self, &args.data) != napi_ok) return fail(env, "bad call");
  return check_arg_count(env, args, needed, what);
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

/** An optional boolean argument (absent or undefined: false). */
inline bool get_flag(napi_env env, const Args& args, size_t index, bool& out, const std::string& what) {
  out = false;
  if (args.count <= index) return true;
  napi_valuetype type;
  napi_typeof(env, args.values[index], &type);
  if (type == napi_undefined) return true;
  if (napi_get_value_bool(env, args.values[index], &out) != napi_ok) return fail(env, what + " must be a boolean");
  return true;
}

/** The bytes [a, a + a_len) and [b, b + b_len) share no byte (a loop reads one and writes the other). */
inline bool check_disjoint(napi_env env, const uint8_t* a, size_t a_len, const uint8_t* b, size_t b_len, const std::string& what) {
  if (a_len != 0 && b_len != 0 && a < b + b_len && b < a + a_len) return fail(env, what + " share memory");
  return true;
}

/**
 * A test hook's body, `fn("baseline" | "auto")`: sets `current` to the baseline build of a file's
 * loops or back to the one `choose` picks for this CPU, and returns the name of the loops now in use.
 */
template <class Loops>
napi_value select_variant(napi_env env, napi_callback_info info, const char* fn, Loops& current, const Loops& baseline, Loops (*choose)()) {
  Args args;
  std::string wanted;
  const std::string name = fn;
  if (!get_args(env, info, args, 1, (name + "(variant)").c_str()) || !get_string(env, args.values[0], wanted, (name + ": variant").c_str())) return nullptr;
  if (wanted == "baseline") current = baseline;
  else if (wanted == "auto") current = choose();
  else return fail(env, name + ": variant must be baseline or auto, not " + wanted), nullptr;
  napi_value result;
  WEBCCL_CHECK(env, napi_create_string_utf8(env, current.name, NAPI_AUTO_LENGTH, &result));
  return result;
}

/** A method of a class made with napi_define_class. */
inline napi_property_descriptor method(const char* name, napi_callback callback) {
  return {name, nullptr, callback, nullptr, nullptr, nullptr, napi_default, nullptr};
}

}  // namespace webccl
