// What the providers of the RDMA-semantics API (shm.cc, tcp.cc) share: the registered-region
// table of a context (ibv_reg_mr's keys), the completion queue (a threadsafe function that
// calls JS with each completion), an endpoint's queues of posted operations and receives with
// their failure paths, the checks of every post's arguments, and the N-API surface that is the
// same for both providers (registerMemory, deregisterMemory, destroy, address, postRecv,
// unwrapping, class setup). Each provider derives its Context from ContextBase and its Endpoint
// from QueuedEndpoint and adds the transport.
#pragma once
#include <node_api.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <initializer_list>
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

/** A posted receive: where the bytes of the next message go. */
struct Recv {
  double wr_id;
  uint64_t key, offset, length;
};

/** A posted send or write as the JS thread checked it (a provider's Op adds its progress). */
struct WorkRequest {
  bool write = false;  // RDMA write (else a two-sided send)
  double wr_id = 0;
  uint64_t key = 0, offset = 0, length = 0;  // the local bytes
  uint64_t remote_key = 0, remote_offset = 0;
  uint32_t imm = 0;
  bool has_imm = false;

  const char* opcode() const { return write ? "write" : "send"; }
};

struct EndpointBase {
  using Base = EndpointBase;  // what napi_wrap holds (see unwrap)
  virtual ~EndpointBase() = default;
  /** Joins the endpoint's thread and fails what is pending; idempotent. */
  virtual void shutdown() = 0;
  /** The blob the peer passes to connect(). */
  virtual std::string address() const = 0;
  /** Whether connect() was called (posts are refused before). */
  virtual bool connected() const = 0;
  bool destroyed = false;
};

struct ContextBase {
  virtual ~ContextBase() = default;
  std::mutex mutex;  // regions and endpoints; held by progress threads while they copy
  Region regions[kMaxRegions];
  std::vector<EndpointBase*> endpoints;
  napi_threadsafe_function completions = nullptr;
  // Completions in the queue not yet delivered: the JS thread delivers its own at once only when
  // none is (deliver_now's callers), so that none overtakes one a progress thread queued first.
  std::atomic<uint32_t> queued{0};
  // What deliver_now calls on the JS thread: the completion callback, and the async context and
  // resource its callback scopes run in (made by wrap_context, dropped by destroy()).
  napi_env env = nullptr;
  napi_ref callback = nullptr;
  napi_ref resource = nullptr;
  napi_async_context async = nullptr;
  bool destroyed = false;

  /** The bytes of `key` at [offset, offset + length) when they lie inside it; else nullptr and why. Hold `mutex`. */
  uint8_t* locate(uint64_t key, uint64_t offset, uint64_t length, std::string& why);
  /** Queues a completion for JS (any thread); takes ownership. */
  void complete(Completion* completion);
  /**
   * JS thread, from a libuv callback (not inside JS): calls onCompletion with each of `batch` now,
   * each in a callback scope of its own, whose close runs the microtasks that completion's
   * handling queued before the next is delivered (as when each came through the queue);
   * `after_each` runs after each. Drops the rest once a callback destroyed the context.
   */
  template <class AfterEach>
  void deliver_now(std::vector<Completion*>& batch, AfterEach after_each) {
    for (Completion* completion : batch) {
      if (destroyed) {
        delete completion;
        continue;
      }
      deliver_in_scope(completion);
      after_each();
    }
    batch.clear();
  }
  /** One completion of deliver_now's (deleted here). */
  void deliver_in_scope(Completion* completion);
  /** Called under `mutex` after slot `slot` was registered or deregistered (shm publishes it to peers). */
  virtual void published(uint32_t slot) {}
  /** Called by destroy() on the JS thread once every endpoint is shut down: drops what the provider holds of JS. */
  virtual void release(napi_env env) {}
};

/**
 * The queues of an endpoint with a progress thread: posted operations (`Op` derives from
 * WorkRequest) and receives, and why it cannot be used any more. `mutex` guards all but
 * `current`, the receive being filled, which only the progress thread touches (fail_all takes
 * it under the lock after the thread has stopped or from the thread itself).
 */
template <class Ctx, class Op>
struct QueuedEndpoint : EndpointBase {
  Ctx* context = nullptr;
  std::mutex mutex;
  std::deque<Op> ops;
  std::deque<Recv> recvs;
  std::string broken;     // non-empty: why the endpoint cannot be used any more
  std::string peer_gone;  // non-empty: the peer closed or died; sends fail, receives drain what it left
  bool receiving = false; // `current` is taken from recvs and not completed yet
  Recv current{};
  // Set while the JS thread reads for itself (a provider's uv_poll callback): the completions of
  // the receives it fills go to this batch, which it delivers (deliver_now), not to the queue.
  std::vector<Completion*>* direct = nullptr;
  void completed(Completion* completion) {
    if (direct) direct->push_back(completion);
    else context->complete(completion);
  }

  /** Every pending operation and receive fails with `why`; later posts of sends throw it, later receives complete with it. */
  void fail_all(const std::string& why) {
    std::deque<Op> failed_ops;
    std::deque<Recv> failed_recvs;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (broken.empty()) broken = why;
      failed_ops.swap(ops);
      failed_recvs.swap(recvs);
      if (receiving) { failed_recvs.push_front(current); receiving = false; }
    }
    for (const Op& op : failed_ops) context->complete(new Completion{op.wr_id, why, op.opcode(), 0, 0, false});
    for (const Recv& recv : failed_recvs) context->complete(new Completion{recv.wr_id, why, "recv", 0, 0, false});
  }

  /** The peer is gone: what it can no longer receive fails now, and later posts of sends throw. */
  void fail_ops(const std::string& why) {
    std::deque<Op> failed_ops;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (peer_gone.empty()) peer_gone = why;
      failed_ops.swap(ops);
    }
    for (const Op& op : failed_ops) context->complete(new Completion{op.wr_id, why, op.opcode(), 0, 0, false});
  }

  /**
   * Queues a receive (JS thread); false when the endpoint is broken: then, like ibv_post_recv
   * on a QP in the error state, it is accepted and completed with the error, after every
   * completion of what the peer sent before it went (a throw here would overtake them).
   */
  bool post_recv(const Recv& recv) {
    std::string flushed;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (broken.empty()) recvs.push_back(recv);
      else flushed = broken;
    }
    if (flushed.empty()) return true;
    context->complete(new Completion{recv.wr_id, flushed, "recv", 0, 0, false});
    return false;
  }

  /**
   * Queues a send or write (JS thread), or throws (false) when the endpoint is broken or its
   * peer gone. Sets `direct` instead of queuing when the queue is empty and `may_direct` says,
   * under the lock, that the caller may put it on the wire itself.
   */
  template <class MayDirect>
  bool post_op(napi_env env, const char* what, const Op& op, MayDirect may_direct, bool& direct) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!broken.empty()) return fail(env, std::string(what) + ": " + broken);
    if (!peer_gone.empty()) return fail(env, std::string(what) + ": " + peer_gone);
    direct = ops.empty() && may_direct();
    if (!direct) ops.push_back(op);
    return true;
  }
};

/**
 * Calls onCompletion(wrId, error | null, opcode, bytes, imm | undefined) with `data` (a
 * Completion, deleted here): the completion queue's call_js, and what a provider that delivers
 * on the JS thread itself (shm) calls inside its own callback scope. Dropped when env is null.
 */
void deliver(napi_env env, napi_value callback, void*, void* data);

/** A provider's process-wide counters as a JS object of numbers, { name: count } (shmCounters, tcpCounters). */
napi_value counters_object(napi_env env, std::initializer_list<std::pair<const char*, const std::atomic<uint64_t>*>> fields);

/** Which post a call is. */
enum class PostKind { kSend, kRecv, kWrite };

/**
 * Reads and checks a post's arguments into `request`: (wrId, key, offset, length) and, for
 * postWrite, (remoteKey, remoteOffset, imm?); the endpoint must be connected, the local bytes
 * registered, a remote key well-formed (the provider checks it further). False with a JS error.
 */
bool read_post(napi_env env, const Args& args, PostKind kind, EndpointBase* endpoint, ContextBase* context, WorkRequest& request);

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

/** The endpoint a post is made on, its arguments read and checked by read_post; nullptr with a JS error. */
template <class T>
T* posted_on(napi_env env, napi_callback_info info, PostKind kind, const char* usage, Args& args, WorkRequest& request) {
  const char* what = kind == PostKind::kSend ? "postSend" : kind == PostKind::kRecv ? "postRecv" : "postWrite";
  if (!get_args(env, info, args, kind == PostKind::kWrite ? 6 : 4, usage)) return nullptr;
  T* endpoint = live_endpoint<T>(env, args.self, what);
  if (!endpoint || !read_post(env, args, kind, endpoint, endpoint->context, request)) return nullptr;
  return endpoint;
}

/** postRecv(wrId, key, offset, length) on an endpoint of type T, which wakes its progress thread as needed with recv_posted(). */
template <class T>
napi_value post_receive(napi_env env, napi_callback_info info) {
  Args args;
  WorkRequest request;
  T* endpoint = posted_on<T>(env, info, PostKind::kRecv, "postRecv(wrId, key, offset, length)", args, request);
  if (endpoint && endpoint->post_recv(Recv{request.wr_id, request.key, request.offset, request.length})) endpoint->recv_posted();
  return nullptr;
}

/**
 * sendNow(header, payload) on an endpoint of type T: whether its send_now sent header ‖ payload
 * as one message from the calling thread (no completion follows); false: post it instead.
 */
template <class T>
napi_value send_now_call(napi_env env, napi_callback_info info) {
  Args args;
  uint8_t *header, *payload;
  size_t header_length, payload_length;
  if (!get_args(env, info, args, 2, "sendNow(header, payload)")) return nullptr;
  T* endpoint = live_endpoint<T>(env, args.self, "sendNow");
  if (!endpoint || !get_bytes(env, args.values[0], header, header_length, "header") || !get_bytes(env, args.values[1], payload, payload_length, "payload")) return nullptr;
  napi_value sent;
  napi_get_boolean(env, endpoint->send_now(header, header_length, payload, payload_length), &sent);
  return sent;
}

/** connect(address, ...)'s endpoint and address blob (`usage` names the call); nullptr with a JS error. */
template <class T>
T* connecting_endpoint(napi_env env, napi_callback_info info, const char* usage, Args& args, std::string& blob) {
  if (!get_args(env, info, args, 1, usage)) return nullptr;
  T* endpoint = live_endpoint<T>(env, args.self, "connect");
  if (!endpoint || !get_string(env, args.values[0], blob, "address")) return nullptr;
  return endpoint;
}

/** createEndpoint(label)'s context and label; nullptr with a JS error. */
template <class T>
T* creating_endpoint(napi_env env, napi_callback_info info, std::string& label) {
  Args args;
  if (!get_args(env, info, args, 1, "createEndpoint(label)")) return nullptr;
  T* context = unwrap<T>(env, args.self, "createEndpoint");
  if (!live_context(env, context, "createEndpoint") || !get_string(env, args.values[0], label, "label")) return nullptr;
  return context;
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
  napi_callback connect, post_send, post_recv, post_write;
  /** Methods only this provider has (name, callback). */
  std::vector<std::pair<const char*, napi_callback>> context_extras = {}, endpoint_extras = {};
};
void define_provider(napi_env env, napi_value exports, const ProviderClasses& classes, napi_ref& endpoint_constructor);

}  // namespace webccl
