// The half of the shm and tcp providers that does not depend on the transport (see provider-common.h).
#include "provider-common.h"

#include <memory>

namespace webccl {

uint8_t* ContextBase::locate(uint64_t key, uint64_t offset, uint64_t length, std::string& why) {
  Region& r = regions[key & 0xff];
  if (key == 0 || key >= (1ull << 32) || !r.valid || r.generation != (key >> 8)) {
    why = "unknown or deregistered memory key " + std::to_string(key);
    return nullptr;
  }
  if (offset > r.length || length > r.length - offset) {
    why = "bytes [" + std::to_string(offset) + ", " + std::to_string(offset + length) + ") lie outside region " + std::to_string(key) +
          " of " + std::to_string(r.length) + " bytes";
    return nullptr;
  }
  return r.data + offset;
}

void ContextBase::complete(Completion* completion) {
  queued.fetch_add(1, std::memory_order_acq_rel);
  if (napi_call_threadsafe_function(completions, completion, napi_tsfn_nonblocking) != napi_ok) {
    queued.fetch_sub(1, std::memory_order_acq_rel);
    delete completion;
  }
}

void ContextBase::deliver_in_scope(Completion* completion) {
  napi_handle_scope handles;
  napi_open_handle_scope(env, &handles);
  napi_value target, on_completion;
  napi_get_reference_value(env, resource, &target);
  napi_get_reference_value(env, callback, &on_completion);
  napi_callback_scope scope;
  napi_open_callback_scope(env, target, async, &scope);
  deliver(env, on_completion, nullptr, completion);
  bool thrown = false;
  napi_is_exception_pending(env, &thrown);
  if (thrown) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);  // as the completion queue would: an uncaught exception
  }
  napi_close_callback_scope(env, scope);
  napi_close_handle_scope(env, handles);
}

void* unwrap_object(napi_env env, napi_value self, const char* what) {
  void* object = nullptr;
  if (napi_unwrap(env, self, &object) != napi_ok || !object) { fail(env, std::string(what) + ": not a live object"); return nullptr; }
  return object;
}

bool live_context(napi_env env, ContextBase* context, const char* what) {
  if (!context) return false;
  if (context->destroyed) return fail(env, std::string(what) + ": the context was destroyed");
  return true;
}

bool read_post(napi_env env, const Args& args, PostKind kind, EndpointBase* endpoint, ContextBase* context, WorkRequest& request) {
  const char* what = kind == PostKind::kSend ? "postSend" : kind == PostKind::kRecv ? "postRecv" : "postWrite";
  bool write = kind == PostKind::kWrite;
  request.write = write;
  if (!get_index(env, args.values[1], request.key, "key") || !get_index(env, args.values[2], request.offset, "offset") ||
      !get_index(env, args.values[3], request.length, "length")) {
    return false;
  }
  if (write && (!get_index(env, args.values[4], request.remote_key, "remoteKey") || !get_index(env, args.values[5], request.remote_offset, "remoteOffset"))) {
    return false;
  }
  napi_get_value_double(env, args.values[0], &request.wr_id);
  if (write) {
    napi_valuetype type = napi_undefined;
    if (args.count > 6) napi_typeof(env, args.values[6], &type);
    request.has_imm = type != napi_undefined;
    uint64_t imm = 0;
    if (request.has_imm && (!get_index(env, args.values[6], imm, "imm") || imm > 0xffffffffu)) return fail(env, "imm must be a 32-bit unsigned integer");
    request.imm = (uint32_t)imm;
  }
  if (!endpoint->connected()) return fail(env, std::string(what) + ": not connected");
  if (write && (request.remote_key == 0 || request.remote_key >= (1ull << 32))) {
    return fail(env, "postWrite: unknown or deregistered remote key " + std::to_string(request.remote_key));
  }
  std::string why;
  std::lock_guard<std::mutex> lock(context->mutex);
  if (!context->locate(request.key, request.offset, request.length, why)) return fail(env, std::string(what) + (write ? ": local " : ": ") + why);
  return true;
}

napi_value counters_object(napi_env env, std::initializer_list<std::pair<const char*, const std::atomic<uint64_t>*>> fields) {
  napi_value result;
  napi_create_object(env, &result);
  for (const auto& [name, counter] : fields) {
    napi_value value;
    napi_create_double(env, (double)counter->load(std::memory_order_relaxed), &value);
    napi_set_named_property(env, result, name, value);
  }
  return result;
}

/** Calls onCompletion(wrId, error | null, opcode, bytes, imm | undefined) on the JS thread. */
void deliver(napi_env env, napi_value callback, void*, void* data) {
  std::unique_ptr<Completion> completion(static_cast<Completion*>(data));
  if (!env) return;  // the context is gone: drop it
  napi_value args[5], undefined;
  napi_get_undefined(env, &undefined);
  napi_create_double(env, completion->wr_id, &args[0]);
  if (completion->error.empty()) napi_get_null(env, &args[1]);
  else napi_create_string_utf8(env, completion->error.c_str(), completion->error.size(), &args[1]);
  napi_create_string_utf8(env, completion->opcode, NAPI_AUTO_LENGTH, &args[2]);
  napi_create_double(env, completion->bytes, &args[3]);
  if (completion->has_imm) napi_create_uint32(env, completion->imm, &args[4]);
  else args[4] = undefined;
  napi_call_function(env, undefined, callback, 5, args, nullptr);
}

namespace {

napi_value ContextRegister(napi_env env, napi_callback_info info) {
  Args args;
  uint8_t* data;
  size_t length;
  if (!get_args(env, info, args, 1, "registerMemory(view)")) return nullptr;
  auto* context = static_cast<ContextBase*>(unwrap_object(env, args.self, "registerMemory"));
  if (!live_context(env, context, "registerMemory") || !get_bytes(env, args.values[0], data, length, "memory")) return nullptr;
  if (length == 0) return fail(env, "registerMemory: the view holds no bytes"), nullptr;
  std::lock_guard<std::mutex> lock(context->mutex);
  for (uint32_t slot = 1; slot < kMaxRegions; slot++) {
    Region& r = context->regions[slot];
    if (r.valid) continue;
    if (napi_create_reference(env, args.values[0], 1, &r.buffer) != napi_ok) return fail(env, "registerMemory: cannot hold the view"), nullptr;
    r.data = data;
    r.length = length;
    r.generation = (r.generation + 1) & 0xffffff;
    if (r.generation == 0) r.generation = 1;
    r.valid = true;
    context->published(slot);
    napi_value key;
    napi_create_double(env, (double)(((uint64_t)r.generation << 8) | slot), &key);
    return key;
  }
  return fail(env, "registerMemory: all " + std::to_string(kMaxRegions - 1) + " regions are in use"), nullptr;
}

napi_value ContextDeregister(napi_env env, napi_callback_info info) {
  Args args;
  uint64_t key;
  if (!get_args(env, info, args, 1, "deregisterMemory(key)")) return nullptr;
  auto* context = static_cast<ContextBase*>(unwrap_object(env, args.self, "deregisterMemory"));
  if (!live_context(env, context, "deregisterMemory") || !get_index(env, args.values[0], key, "key")) return nullptr;
  napi_ref held = nullptr;
  {
    std::lock_guard<std::mutex> lock(context->mutex);
    std::string why;
    if (!context->locate(key, 0, 0, why)) return fail(env, "deregisterMemory: " + why), nullptr;
    Region& r = context->regions[key & 0xff];
    r.valid = false;
    held = r.buffer;
    r.buffer = nullptr;
    context->published((uint32_t)(key & 0xff));
  }
  napi_delete_reference(env, held);  // after the lock: no progress thread copies into it any more
  return nullptr;
}

napi_value ContextDestroy(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, args, 0, "destroy()")) return nullptr;
  auto* context = static_cast<ContextBase*>(unwrap_object(env, args.self, "destroy"));
  if (!context || context->destroyed) return nullptr;
  std::vector<EndpointBase*> endpoints;
  { std::lock_guard<std::mutex> lock(context->mutex); endpoints = context->endpoints; }
  for (EndpointBase* endpoint : endpoints) endpoint->shutdown();
  context->destroyed = true;
  context->release(env);
  if (context->async) napi_async_destroy(env, context->async);
  if (context->callback) napi_delete_reference(env, context->callback);
  if (context->resource) napi_delete_reference(env, context->resource);
  context->async = nullptr;
  context->callback = context->resource = nullptr;
  for (Region& r : context->regions) {
    if (r.buffer) napi_delete_reference(env, r.buffer);
    r.buffer = nullptr;
    r.valid = false;
  }
  napi_release_threadsafe_function(context->completions, napi_tsfn_release);
  return nullptr;
}

napi_value EndpointAddress(napi_env env, napi_callback_info info) {
  Args args;
  get_args(env, info, args, 0, "address()");
  EndpointBase* endpoint = live_endpoint<EndpointBase>(env, args.self, "address");
  if (!endpoint) return nullptr;
  std::string blob = endpoint->address();
  napi_value value;
  napi_create_string_utf8(env, blob.c_str(), blob.size(), &value);
  return value;
}

napi_value EndpointNew(napi_env env, napi_callback_info info) {
  Args args;
  get_args(env, info, args, 0, "endpoint");
  return args.self;
}

napi_value EndpointDestroy(napi_env env, napi_callback_info info) {
  Args args;
  get_args(env, info, args, 0, "destroy()");
  auto* endpoint = static_cast<EndpointBase*>(unwrap_object(env, args.self, "destroy"));
  if (endpoint) endpoint->shutdown();
  return nullptr;
}

}  // namespace

bool wrap_context(napi_env env, napi_value self, napi_value callback, ContextBase* context, const char* queue_name) {
  napi_valuetype type;
  napi_typeof(env, callback, &type);
  if (type != napi_function) return delete context, fail(env, "onCompletion must be a function");
  napi_value name;
  napi_create_string_utf8(env, queue_name, NAPI_AUTO_LENGTH, &name);
  // deliver_now's callback, async context and resource (made before the queue, which would keep the loop alive).
  napi_value resource;
  napi_create_object(env, &resource);
  context->env = env;
  if (napi_create_reference(env, callback, 1, &context->callback) != napi_ok || napi_create_reference(env, resource, 1, &context->resource) != napi_ok ||
      napi_async_init(env, resource, name, &context->async) != napi_ok) {
    delete context;
    return fail(env, "could not set up the completion callback");
  }
  // The queue's call_js counts each delivery off `queued` (the context is never freed: see below).
  auto deliver_queued = [](napi_env env, napi_value callback, void* context, void* data) {
    static_cast<ContextBase*>(context)->queued.fetch_sub(1, std::memory_order_acq_rel);
    deliver(env, callback, nullptr, data);
  };
  if (napi_create_threadsafe_function(env, callback, nullptr, name, 0, 1, nullptr, nullptr, context, deliver_queued, &context->completions) != napi_ok) {
    delete context;
    return fail(env, "could not create the completion queue");
  }
  napi_wrap(env, self, context, [](napi_env, void* data, void*) {
    // Collected without destroy(): the endpoints' threads still run, so the memory is leaked
    // on purpose rather than freed under them. destroy() is the way to release a context.
    (void)data;
  }, nullptr, nullptr);
  return true;
}

napi_value wrap_endpoint(napi_env env, napi_ref constructor_ref, ContextBase* context, EndpointBase* endpoint) {
  { std::lock_guard<std::mutex> lock(context->mutex); context->endpoints.push_back(endpoint); }
  napi_value constructor, object;
  napi_get_reference_value(env, constructor_ref, &constructor);
  napi_new_instance(env, constructor, 0, nullptr, &object);
  napi_wrap(env, object, endpoint, nullptr, nullptr, nullptr);
  return object;
}

void define_provider(napi_env env, napi_value exports, const ProviderClasses& classes, napi_ref& endpoint_constructor) {
  std::vector<napi_property_descriptor> endpoint_methods = {
      method("address", EndpointAddress), method("connect", classes.connect), method("postSend", classes.post_send),
      method("postRecv", classes.post_recv), method("postWrite", classes.post_write), method("destroy", EndpointDestroy),
  };
  for (const auto& extra : classes.endpoint_extras) endpoint_methods.push_back(method(extra.first, extra.second));
  napi_value endpoint_class;
  napi_define_class(env, classes.endpoint_name, NAPI_AUTO_LENGTH, EndpointNew, nullptr, endpoint_methods.size(), endpoint_methods.data(), &endpoint_class);
  napi_create_reference(env, endpoint_class, 1, &endpoint_constructor);
  std::vector<napi_property_descriptor> context_methods = {
      method("registerMemory", ContextRegister), method("deregisterMemory", ContextDeregister),
      method("createEndpoint", classes.create_endpoint), method("destroy", ContextDestroy),
  };
  for (const auto& extra : classes.context_extras) context_methods.push_back(method(extra.first, extra.second));
  napi_value context_class;
  napi_define_class(env, classes.context_name, NAPI_AUTO_LENGTH, classes.context_new, nullptr, context_methods.size(), context_methods.data(), &context_class);
  napi_set_named_property(env, exports, classes.context_name, context_class);
}

}  // namespace webccl
