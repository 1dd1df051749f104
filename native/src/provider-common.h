// What the providers of the RDMA-semantics API (shm.cc, tcp.cc) share: the registered-region
// table of a context (ibv_reg_mr's keys), the completion queue (a threadsafe function that
// calls JS with each completion) and the N-API surface that is the same for both providers
// (registerMemory, deregisterMemory, destroy, unwrapping, class setup). Each provider derives
// its Context from ContextBase and its Endpoint from EndpointBase and adds the transport.
#pragma once
#include <node_api.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "napi-util.h"

namespace webccl {

constexpr uint32_t kMaxRegions = 256;  // memory regions a context can register (key = generation·256 + slot)

struct Region {
  uint8_t* data = nullptr;
  uint64_t length = 0;
  uint32_t generation = 0;
  napi_ref buffer = nullptr;  // keeps the ArrayBuffer (and so the memory) alive while registered
  bool valid = false;
};

/** One work completion, handed from a progress thread to JS (owned by the queue once posted). */
struct Completion {
  double wr_id;
  std::string error;  // empty: success
  const char* opcode;
  double bytes;
  uint32_t imm;
  bool has_imm;
};

struct EndpointBase {
  virtual ~EndpointBase() = default;
  /** Joins the endpoint's thread and fails what is pending; idempotent. */
  virtual void shutdown() = 0;
  bool destroyed = false;
};

struct ContextBase {
  virtual ~ContextBase() = default;
  std::mutex mutex;  // regions and endpoints; held by progress threads while they copy
  Region regions[kMaxRegions];
  std::vector<EndpointBase*> endpoints;
  napi_threadsafe_function completions = nullptr;
  bool destroyed = false;

  /** The bytes of `key` at [offset, offset + length) when they lie inside it; else nullptr and why. Hold `mutex`. */
  uint8_t* locate(uint64_t key, uint64_t offset, uint64_t length, std::string& why);
  /** Queues a completion for JS (any thread); takes ownership. */
  void complete(Completion* completion);
  /** Called under `mutex` after slot `slot` was registered or deregistered (shm publishes it to peers). */
  virtual void published(uint32_t slot) {}
};

/** The native object wrapped in `self`, or nullptr with a JS error thrown. */
void* unwrap_object(napi_env env, napi_value self, const char* what);

template <class T>
T* unwrap(napi_env env, napi_value self, const char* what) {
  return static_cast<T*>(static_cast<typename T::Base*>(unwrap_object(env, self, what)));
}

/** false (with a JS error) when the context is missing or destroyed. */
bool live_context(napi_env env, ContextBase* context, const char* what);

template <class T>
T* live_endpoint(napi_env env, napi_value self, const char* what) {
  T* endpoint = unwrap<T>(env, self, what);
  if (!endpoint) return nullptr;
  if (endpoint->destroyed) return fail(env, std::string(what) + ": the endpoint was destroyed"), nullptr;
  return endpoint;
}

/** Makes `context` the native half of `self` with `callback` as its completion queue; false with a JS error on failure. */
bool wrap_context(napi_env env, napi_value self, napi_value callback, ContextBase* context, const char* queue_name);

/** A new JS endpoint object of the class in `constructor` wrapping `endpoint`, after adding it to its context. */
napi_value wrap_endpoint(napi_env env, napi_ref constructor, ContextBase* context, EndpointBase* endpoint);

/** Defines `<Name>Endpoint` (constructor kept in `endpoint_constructor`) and `<Name>Context` on exports. */
struct ProviderClasses {
  const char* context_name;
  napi_callback context_new;
  napi_callback create_endpoint;
  const char* endpoint_name;
  napi_callback address, connect, post_send, post_recv, post_write;
  /** Methods only this provider has (name, callback). */
  std::vector<std::pair<const char*, napi_callback>> context_extras = {}, endpoint_extras = {};
};
void define_provider(napi_env env, napi_value exports, const ProviderClasses& classes, napi_ref& endpoint_constructor);

}  // namespace webccl
