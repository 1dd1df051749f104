// A switch worker's UDP socket in native code (lib/switch/udp-link.ts uses it when the addon has
// it): the JS thread sends a batch of packets with one sendmmsg, and a receive thread reads
// results with recvmmsg and hands each batch to JS in one threadsafe-function call (a buffer of
// the datagrams end to end and their lengths), so a window of results costs one event-loop
// turn instead of one per datagram. The queue to JS is bounded: when JS falls behind, the thread
// waits, the kernel's receive buffer fills and the switch's results are dropped there, which the
// worker's retransmission repairs, as with Node's dgram socket.
// Both directions use the kernel's UDP offloads (udp-offload.h): a batch's packets of one size
// leave as GSO messages, and coalesced results are split before JS sees them.
// stream(): a whole allreduce on the receive thread (switch-stream.h), without a JS turn per
// batch: JS hands the input, output and parameters and sends the first window itself (no wait
// for the receive thread to wake on a loaded machine: that hand-over took 0.6 ms at the median
// and up to 4 ms per call on the 2-core rack, on every rank), then the thread receives,
// sends what each result frees, retransmits, and settles one promise at the end. The stream holds
// references to the input, output and exponents, so they outlive it whatever JS does; close()
// joins the thread first, then rejects the call, so no write can follow it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "napi-util.h"
#include "switch-stream.h"
#include "udp-offload.h"
#include "udp-socket.h"

namespace webccl {
namespace {

constexpr int kBatch = 64;      // receive buffers per recvmmsg
constexpr int kSendBatch = 1024;  // datagrams per flush of a send (a window's worth)
constexpr size_t kQueued = 16;  // batches waiting for JS before the thread waits too
constexpr int kReceiveBuffer = 8 << 20;
constexpr int kDrainRounds = 4;  // recvmmsg rounds a native stream reads before it flushes its sends  // a window of results, and unicast answers to retransmissions

struct Batch {
  std::vector<uint8_t> bytes;     // the datagrams end to end
  std::vector<uint32_t> lengths;  // one per datagram
};

/**
 * An ArrayBuffer the JS thread hands every batch in, grown when a batch needs more. A new
 * Buffer per batch was 16 MiB of external memory per 16 MiB call, and V8 collected for that
 * external memory pressure in most of a rank's collections; JS reads a batch within the call
 * (lib/switch/worker-datagrams.ts says so), so one buffer serves them all.
 */
struct ReusedBuffer {
  napi_ref ref = nullptr;
  size_t capacity = 0;

  /** A typed array of `type` over a copy of `bytes` (length a multiple of element_size). */
  napi_value view(napi_env env, const void* bytes, size_t length, napi_typedarray_type type, size_t element_size) {
    napi_value buffer = nullptr;
    void* data = nullptr;
    if (ref != nullptr && length <= capacity) {
      napi_get_reference_value(env, ref, &buffer);
      napi_get_arraybuffer_info(env, buffer, &data, nullptr);
    } else {
      size_t grown = capacity == 0 ? 65536 : capacity;
      while (grown < length) grown *= 2;
      napi_create_arraybuffer(env, grown, &data, &buffer);
      if (ref != nullptr) napi_delete_reference(env, ref);
      napi_create_reference(env, buffer, 1, &ref);
      capacity = grown;
    }
    if (length > 0) memcpy(data, bytes, length);
    napi_value array;
    napi_create_typedarray(env, type, length / element_size, buffer, 0, &array);
    return array;
  }

  void release(napi_env env) {
    if (ref != nullptr && env != nullptr) napi_delete_reference(env, ref);
    ref = nullptr;
  }
};

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/**
 * The receive thread's scheduling policy, with WEBCCL_SWITCH_BATCH_SCHED=1 (read when the socket
 * connects; off by default): SCHED_BATCH while it runs a stream longer than its window,
 * SCHED_OTHER otherwise. A thread of the batch policy that a datagram wakes does not preempt the
 * running one, so where the workers and a software switch share few cores and the cores are the
 * bound, the switch's thread finishes its flush (a result for every worker) before the workers
 * run and each worker finds more results per wake-up: at 8 workers on 2 cores over loopback the
 * switch's thread was preempted half as often and the workers woke 20-40% less often. Where the
 * links are the bound it costs: on the simulated rack at 8 ranks (1 Gb/s links) 16 MiB calls took
 * 300-350 ms against 245 without it. A stream within one window keeps the normal policy.
 */
struct ReceivePolicy {
  bool wanted = false;
  bool batch = false;

  static bool wanted_by_environment() {
    const char* value = getenv("WEBCCL_SWITCH_BATCH_SCHED");
    return value && strcmp(value, "1") == 0;
  }

  /** On the receive thread: the policy for a stream (long) or for none. A refusal leaves the policy as it was. */
  void set(bool long_stream) {
    if (!wanted || long_stream == batch) return;
    sched_param param{};
    if (pthread_setschedparam(pthread_self(), long_stream ? SCHED_BATCH : SCHED_OTHER, &param) == 0) batch = long_stream;
  }
};

/** A stream() call: the stream, its promise, and references that keep its arrays alive. */
/** Rejects a stream call's promise with an Error of `text` (on the JS thread). */
void reject_with(napi_env env, napi_deferred deferred, const char* text) {
  napi_value error, message;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, nullptr, message, &error);
  napi_reject_deferred(env, deferred, error);
}

struct StreamCall {
  StreamParams params;
  std::unique_ptr<NativeStream> stream;
  napi_deferred deferred = nullptr;
  napi_ref keep[3] = {nullptr, nullptr, nullptr};
  napi_threadsafe_function done = nullptr;

  void release_refs(napi_env env) {
    for (napi_ref& ref : keep) {
      if (ref != nullptr) napi_delete_reference(env, ref);
      ref = nullptr;
    }
  }
};

struct WorkerSocket {
  int fd = -1, bell = -1, family = AF_INET;
  uint16_t port = 0;
  std::thread thread;
  std::atomic<bool> stop{false};
  bool closed = false;
  napi_threadsafe_function on_packets = nullptr;
  udp::Offload offload;
  udp::Sender sender{kSendBatch};  // the JS thread's
  udp::Receiver receiver{kBatch};  // the receive thread's
  ReusedBuffer delivered_bytes, delivered_lengths;  // the JS thread's
  // The native stream: started by the JS thread under `handover` while none is active, then the
  // receive thread's alone until it settles (it clears `active` under `handover` too). The slot
  // buffers, pacing and stream sender belong to whichever thread owns the active stream.
  std::mutex handover;
  StreamCall* active = nullptr;
  std::atomic<double> ended_at{-1}, grace_ms{0};
  SlotBuffers slot_buffers;  // the receive thread's, reused by every stream
  Pacing pacing;             // the receive thread's
  udp::Sender stream_sender{kSendBatch};  // the receive thread's
  ReceivePolicy policy;                   // the receive thread's
  // The job's multicast group (joinGroup, before connect): a second socket bound to group:port
  // that the switch's results arrive on. Anyone can send to a group, so a datagram whose source
  // is not the switch's data port is dropped and counted before the stream or JS sees it.
  int group_fd = -1;
  sockaddr_storage switch_address{};
  std::atomic<uint64_t> group_datagrams{0}, group_strangers{0};

  void run();
  template <class Visit>
  bool receive_from(int from_fd, Visit&& visit);
  void settle_stream();
  void shutdown(napi_env env);
};

/** Hands a stream that ended to JS (its promise settles there) and forgets it. */
void WorkerSocket::settle_stream() {
  StreamCall* call = active;
  {
    std::lock_guard<std::mutex> lock(handover);  // stream() reads it
    active = nullptr;
  }
  napi_threadsafe_function done = call->done;
  // An unbounded queue never blocks; it fails only while closing, when close() settles nothing
  // (the call is no longer active), so the call is freed with the function.
  if (napi_call_threadsafe_function(done, call, napi_tsfn_nonblocking) != napi_ok) delete call;
  napi_release_threadsafe_function(done, napi_tsfn_release);
}

/**
 * One recvmmsg on `from_fd` (the unicast socket or the group's); visit(bytes, length) for each
 * datagram, those on the group socket only when they come from the switch. False when none was read.
 */
template <class Visit>
bool WorkerSocket::receive_from(int from_fd, Visit&& visit) {
  if (receiver.receive(from_fd) == 0) return false;
  bool group = from_fd == group_fd;
  receiver.each([&](const uint8_t* bytes, size_t length, const sockaddr_storage& from, socklen_t) {
    if (group) {
      if (!udp::same_peer(from, switch_address)) { group_strangers.fetch_add(1, std::memory_order_relaxed); return; }
      group_datagrams.fetch_add(1, std::memory_order_relaxed);
    }
    visit(bytes, length);
  });
  return true;
}

void WorkerSocket::run() {
  while (!stop.load(std::memory_order_acquire)) {
    // A negative descriptor (no group) is skipped by poll.
    pollfd fds[3] = {{fd, POLLIN, 0}, {bell, POLLIN, 0}, {group_fd, POLLIN, 0}};
    int wait = -1;
    {
      std::lock_guard<std::mutex> lock(handover);
      if (active) wait = active->stream->wait_ms(now_ms());
    }
    // A stream started while this waits rings the bell, so the wait is recomputed for it.
    if (poll(fds, 3, wait) < 0 && errno != EINTR) break;
    if (stop.load(std::memory_order_acquire)) break;
    if (fds[1].revents & POLLIN) {
      uint64_t rung;
      ssize_t r = read(bell, &rung, sizeof rung);
      (void)r;
    }
    // Without a stream, datagrams are read under the lock: a stream() that starts meanwhile
    // sends its first packets only after this read, so none of its results is handed to JS.
    std::unique_lock<std::mutex> lock(handover);
    if (active) {
      lock.unlock();
      NativeStream& stream = *active->stream;
      policy.set(stream.longer_than_window());
      // Every result already queued before the sends leave, so that the packets they free go out
      // together (GSO: one message, one buffer at the switch) rather than one sendmmsg each.
      for (int which : {0, 2}) {
        for (int round = 0; round < kDrainRounds && (fds[which].revents & POLLIN); round++) {
          double now = now_ms();
          if (!receive_from(fds[which].fd, [&](const uint8_t* bytes, size_t length) { stream.on_datagram(bytes, length, stream_sender, fd, now); })) break;
        }
      }
      stream.sweep(stream_sender, fd, now_ms(), ended_at.load(), grace_ms.load());
      stream_sender.flush(fd, 2, &stop);
      if (stream.end != StreamEnd::running) {
        policy.set(false);  // first: the call's promise may settle as soon as settle_stream() queues it
        settle_stream();
      }
      continue;
    }
    // A coalesced buffer's datagrams already lie end to end: only the lengths need splitting.
    auto* batch = new Batch();
    for (int which : {0, 2}) {
      if (!(fds[which].revents & POLLIN)) continue;
      receive_from(fds[which].fd, [batch](const uint8_t* bytes, size_t length) {
        batch->bytes.insert(batch->bytes.end(), bytes, bytes + length);
        batch->lengths.push_back((uint32_t)length);
      });
    }
    lock.unlock();
    if (batch->lengths.empty()) {
      delete batch;
      continue;
    }
    // Blocking: a full queue means JS is behind; close() aborts the function, which frees this wait.
    if (napi_call_threadsafe_function(on_packets, batch, napi_tsfn_blocking) != napi_ok) {
      delete batch;
      break;
    }
  }
}

void WorkerSocket::shutdown(napi_env env) {
  if (closed) return;
  closed = true;
  stop.store(true, std::memory_order_release);
  uint64_t one = 1;
  ssize_t w = write(bell, &one, sizeof one);
  (void)w;
  // Abort before joining: a thread waiting on a full queue returns at once.
  napi_release_threadsafe_function(on_packets, napi_tsfn_abort);
  if (thread.joinable()) thread.join();
  // The thread is gone: a stream it ran rejects here.
  if (StreamCall* call = active) {
    reject_with(env, call->deferred, "the switch worker socket was closed during the call");
    call->release_refs(env);
    napi_release_threadsafe_function(call->done, napi_tsfn_abort);
    delete call;
  }
  active = nullptr;
  close(fd);
  close(bell);
  if (group_fd >= 0) close(group_fd);
  fd = bell = group_fd = -1;
}

// Without an env (the function is being torn down after close()), only the batch is freed: the
// socket may be gone by then.
void deliver(napi_env env, napi_value callback, void* context, void* data) {
  std::unique_ptr<Batch> batch(static_cast<Batch*>(data));
  if (!env) return;
  auto* socket = static_cast<WorkerSocket*>(context);
  napi_value args[2], undefined;
  napi_get_undefined(env, &undefined);
  args[0] = socket->delivered_bytes.view(env, batch->bytes.data(), batch->bytes.size(), napi_uint8_array, 1);
  args[1] = socket->delivered_lengths.view(env, batch->lengths.data(), batch->lengths.size() * 4, napi_uint32_array, 4);
  napi_call_function(env, undefined, callback, 2, args, nullptr);
}

WorkerSocket* live_socket(napi_env env, napi_value self, const char* what) {
  void* object = nullptr;
  if (napi_unwrap(env, self, &object) != napi_ok || !object) return fail(env, std::string(what) + ": not a live object"), nullptr;
  auto* socket = static_cast<WorkerSocket*>(object);
  if (socket->closed) return fail(env, std::string(what) + ": the socket was closed"), nullptr;
  return socket;
}

/** new SwitchWorkerSocket(bindHost, onPackets(bytes, lengths)): a UDP socket on bindHost:0 and its receive thread. */
napi_value SocketNew(napi_env env, napi_callback_info info) {
  Args args;
  std::string host;
  if (!get_args(env, info, args, 2, "new SwitchWorkerSocket(bindHost, onPackets)") || !get_string(env, args.values[0], host, "bindHost")) return nullptr;
  napi_valuetype type;
  napi_typeof(env, args.values[1], &type);
  if (type != napi_function) return fail(env, "onPackets must be a function"), nullptr;
  int family;
  uint16_t port;
  std::string why;
  int fd = open_udp(host, 0, kReceiveBuffer, family, port, why);
  if (fd < 0) return fail(env, why), nullptr;
  int bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (bell < 0) { close(fd); return fail(env, std::string("eventfd: ") + strerror(errno)), nullptr; }
  auto* socket = new WorkerSocket();
  socket->fd = fd;
  socket->bell = bell;
  socket->family = family;
  socket->port = port;
  socket->offload = udp::enable_offload(fd);
  socket->sender.gso = socket->offload.gso;
  socket->stream_sender.gso = socket->offload.gso;  // the native stream's sends are GSO batches too
  napi_value name;
  napi_create_string_utf8(env, "webccl-switch-worker-packets", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, args.values[1], nullptr, name, kQueued, 1, nullptr, nullptr, socket, deliver, &socket->on_packets) != napi_ok) {
    close(fd);
    close(bell);
    delete socket;
    return fail(env, "could not create the packet queue"), nullptr;
  }
  napi_wrap(env, args.self, socket, [](napi_env finalizing, void* data, void*) {
    auto* s = static_cast<WorkerSocket*>(data);
    if (!s->closed) return;  // an open one keeps its thread until close() (like a socket)
    s->delivered_bytes.release(finalizing);
    s->delivered_lengths.release(finalizing);
    delete s;
  }, nullptr, nullptr);
  return args.self;
}

napi_value SocketPort(napi_env env, napi_callback_info info) {
  Args args;
  get_args(env, info, args, 0, "port()");
  WorkerSocket* socket = live_socket(env, args.self, "port");
  if (!socket) return nullptr;
  napi_value value;
  napi_create_uint32(env, socket->port, &value);
  return value;
}

/**
 * joinGroup(group, port, switchHost, switchPort): before connect, joins the job's IPv4 multicast
 * group on the interface of this socket's address (127.0.0.1 for a same-host switch) with a
 * second socket bound to group:port; results from switchHost:switchPort there are handled like
 * those on the unicast socket. Throws when the group cannot be joined (no multicast on that
 * interface): the caller then asks the switch for unicast.
 */
napi_value SocketJoinGroup(napi_env env, napi_callback_info info) {
  Args args;
  std::string group, switch_host;
  uint64_t port, switch_port;
  if (!get_args(env, info, args, 4, "joinGroup(group, port, switchHost, switchPort)")) return nullptr;
  WorkerSocket* socket = live_socket(env, args.self, "joinGroup");
  if (!socket || !get_string(env, args.values[0], group, "group") || !get_index(env, args.values[1], port, "port") ||
      !get_string(env, args.values[2], switch_host, "switchHost") || !get_index(env, args.values[3], switch_port, "switchPort")) {
    return nullptr;
  }
  if (socket->thread.joinable()) return fail(env, "joinGroup: call it before connect"), nullptr;
  if (socket->group_fd >= 0) return fail(env, "joinGroup: already in a group"), nullptr;
  if (socket->family != AF_INET) return fail(env, "joinGroup: multicast needs an IPv4 socket"), nullptr;
  if (port < 1 || port > 65535 || switch_port < 1 || switch_port > 65535) return fail(env, "joinGroup: ports must be in 1 .. 65535"), nullptr;
  ip_mreq membership{};
  if (inet_pton(AF_INET, group.c_str(), &membership.imr_multiaddr) != 1 || !IN_MULTICAST(ntohl(membership.imr_multiaddr.s_addr))) {
    return fail(env, "joinGroup: " + group + " is not an IPv4 multicast address"), nullptr;
  }
  socklen_t switch_length;
  if (!make_addr(AF_INET, switch_host, (uint32_t)switch_port, socket->switch_address, switch_length)) {
    return fail(env, "joinGroup: switch host " + switch_host + " is not an IPv4 address"), nullptr;
  }
  sockaddr_in local{};
  socklen_t local_length = sizeof local;
  getsockname(socket->fd, reinterpret_cast<sockaddr*>(&local), &local_length);
  membership.imr_interface = local.sin_addr;
  int g = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (g < 0) return fail(env, std::string("joinGroup: socket: ") + strerror(errno)), nullptr;
  // Every worker of the job on this host binds the same group:port: each gets its own copy.
  int one = 1;
  sockaddr_storage bound;
  socklen_t bound_length;
  make_addr(AF_INET, group, (uint32_t)port, bound, bound_length);
  std::string failed;
  if (setsockopt(g, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) failed = "SO_REUSEADDR";
  else if (bind(g, reinterpret_cast<sockaddr*>(&bound), bound_length) != 0) failed = "bind " + group + ":" + std::to_string(port);
  else if (setsockopt(g, IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof membership) != 0) failed = "IP_ADD_MEMBERSHIP " + group;
  if (!failed.empty()) {
    std::string text = "joinGroup: " + failed + ": " + strerror(errno);
    close(g);
    return fail(env, text), nullptr;
  }
  set_buffer(g, SO_RCVBUF, SO_RCVBUFFORCE, kReceiveBuffer);
  udp::enable_offload(g);  // GRO: the switch's GSO runs of results arrive as one buffer
  socket->group_fd = g;
  return nullptr;
}

/** connect(host, port): only the switch's datagrams are delivered from now on; starts the receive thread. */
napi_value SocketConnect(napi_env env, napi_callback_info info) {
  Args args;
  std::string host;
  uint64_t port;
  if (!get_args(env, info, args, 2, "connect(host, port)")) return nullptr;
  WorkerSocket* socket = live_socket(env, args.self, "connect");
  if (!socket || !get_string(env, args.values[0], host, "host") || !get_index(env, args.values[1], port, "port")) return nullptr;
  if (port < 1 || port > 65535) return fail(env, "port must be in 1 .. 65535"), nullptr;
  if (socket->thread.joinable()) return fail(env, "connect: already connected"), nullptr;
  sockaddr_storage address;
  socklen_t length;
  if (!make_addr(socket->family, host, (uint32_t)port, address, length)) return fail(env, "connect: " + host + " is not an address of this socket's family"), nullptr;
  if (connect(socket->fd, reinterpret_cast<sockaddr*>(&address), length) != 0) return fail(env, std::string("connect: ") + strerror(errno)), nullptr;
  socket->policy.wanted = ReceivePolicy::wanted_by_environment();
  socket->thread = std::thread([socket] { socket->run(); });
  return nullptr;
}

/**
 * send(packets): one sendmmsg for an array of Uint8Arrays (runs of one size as GSO messages);
 * what the kernel refuses (a full buffer) is dropped, as UDP does.
 */
napi_value SocketSend(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, args, 1, "send(packets)")) return nullptr;
  WorkerSocket* socket = live_socket(env, args.self, "send");
  if (!socket) return nullptr;
  bool is_array = false;
  napi_is_array(env, args.values[0], &is_array);
  if (!is_array) return fail(env, "send: packets must be an array"), nullptr;
  uint32_t count = 0;
  napi_get_array_length(env, args.values[0], &count);
  if (!socket->thread.joinable()) return fail(env, "send: not connected"), nullptr;
  udp::Sender& sender = socket->sender;
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    napi_get_element(env, args.values[0], i, &element);
    uint8_t* data;
    size_t length;
    if (!get_bytes(env, element, data, length, "packet")) {
      sender.flush(socket->fd, 0, nullptr);  // the packets before the bad one still go
      return nullptr;
    }
    if (sender.full()) sender.flush(socket->fd, 0, nullptr);
    sender.add(data, length, nullptr, 0);
  }
  sender.flush(socket->fd, 0, nullptr);
  return nullptr;
}

/** counters(): what the offloads did (see NativeSwitchWorkerSocket.counters in lib/native/addon.ts). */
napi_value SocketCounters(napi_env env, napi_callback_info info) {
  Args args;
  get_args(env, info, args, 0, "counters()");
  WorkerSocket* socket = live_socket(env, args.self, "counters");
  if (!socket) return nullptr;
  napi_value object;
  napi_create_object(env, &object);
  udp::report(socket->sender, socket->receiver, socket->offload, [&](const char* name, double number) { set_number(env, object, name, number); },
              [&](const char* name, bool flag) { set_bool(env, object, name, flag); });
  set_number(env, object, "sendErrors", (double)socket->sender.stats.lost.load());
  set_number(env, object, "streamSentDatagrams", (double)socket->stream_sender.stats.datagrams.load());
  set_number(env, object, "groupDatagrams", (double)socket->group_datagrams.load());
  set_number(env, object, "groupStrangers", (double)socket->group_strangers.load());
  return object;
}

/**
 * Test hook: UDP without checksums (SO_NO_CHECK), on which the kernel refuses every GSO send
 * (EINVAL) while single datagrams still go, so a test can watch the fallback resend a batch.
 */
napi_value SocketRefuseGso(napi_env env, napi_callback_info info) {
  Args args;
  get_args(env, info, args, 0, "testRefuseGso()");
  WorkerSocket* socket = live_socket(env, args.self, "testRefuseGso");
  if (!socket) return nullptr;
  int one = 1;
  if (setsockopt(socket->fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof one) != 0) return fail(env, std::string("testRefuseGso: SO_NO_CHECK: ") + strerror(errno)), nullptr;
  return nullptr;
}

/** On the JS thread: a stream that ended settles its promise with how it ended and its counters. */
void stream_done(napi_env env, napi_value, void*, void* data) {
  std::unique_ptr<StreamCall> call(static_cast<StreamCall*>(data));
  if (!env) return;
  call->release_refs(env);
  const NativeStream& stream = *call->stream;
  static const char* const ends[] = {"running", "done", "timeout", "ended", "closed"};
  napi_value result, end;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, ends[(int)stream.end], NAPI_AUTO_LENGTH, &end);
  napi_set_named_property(env, result, "end", end);
  set_number(env, result, "outstanding", stream.outstanding);
  const StreamCounters& c = stream.counters;
  set_number(env, result, "sent", c.sent);
  set_number(env, result, "retransmitted", c.retransmitted);
  set_number(env, result, "results", c.results);
  set_number(env, result, "duplicates", c.duplicates);
  set_number(env, result, "wrongJob", c.wrong_job);
  set_number(env, result, "malformed", c.malformed);
  set_number(env, result, "windowCuts", c.window_cuts);
  set_number(env, result, "probes", c.probes);
  set_number(env, result, "earlyFlushes", c.early_flushes);
  const StreamTimes& t = stream.times;
  napi_value times;
  napi_create_object(env, &times);
  set_number(env, times, "started", t.started);
  set_number(env, times, "cwnd", t.cwnd);
  set_number(env, times, "leadDone", t.lead_done);
  set_number(env, times, "firstDataSend", t.first_data_send);
  set_number(env, times, "firstResult", t.first_result);
  set_number(env, times, "lastFirstSend", t.last_first_send);
  set_number(env, times, "lastResult", t.last_result);
  set_number(env, times, "ended", t.ended);
  napi_set_named_property(env, result, "times", times);
  napi_resolve_deferred(env, call->deferred, result);
}

/** A number property of the stream's parameters, an integer in [low, high] unless `real`. */
bool get_param(napi_env env, napi_value object, const char* name, double low, double high, bool real, double& out) {
  napi_value value;
  napi_valuetype type = napi_undefined;
  if (napi_get_named_property(env, object, name, &value) == napi_ok) napi_typeof(env, value, &type);
  if (type != napi_number || napi_get_value_double(env, value, &out) != napi_ok || !(out >= low && out <= high) || (!real && out != std::floor(out))) {
    return fail(env, std::string("stream: ") + name + " must be a" + (real ? " number" : "n integer") + " in [" + std::to_string(low) + ", " + std::to_string(high) + "]");
  }
  return true;
}

/** The elements of an Int32Array or Float32Array, and a strong reference that keeps them alive. */
bool get_elements(napi_env env, napi_value value, napi_typedarray_type& kind, uint32_t*& data, size_t& count, napi_ref& keep, const char* what) {
  void* raw = nullptr;
  bool typed = false;
  napi_is_typedarray(env, value, &typed);
  if (!typed || napi_get_typedarray_info(env, value, &kind, &count, &raw, nullptr, nullptr) != napi_ok || (kind != napi_int32_array && kind != napi_float32_array)) {
    return fail(env, std::string("stream: ") + what + " must be an Int32Array or a Float32Array");
  }
  if (raw == nullptr && count != 0) return fail(env, std::string("stream: ") + what + ": detached buffer");
  data = static_cast<uint32_t*>(raw);
  return napi_create_reference(env, value, 1, &keep) == napi_ok || fail(env, "stream: could not reference the arrays");
}

bool overlap(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
  auto* x = static_cast<const uint8_t*>(a);
  auto* y = static_cast<const uint8_t*>(b);
  return a_bytes != 0 && b_bytes != 0 && x < y + b_bytes && y < x + a_bytes;
}

/**
 * stream(input, output, agreed | null, params): one allreduce on the receive thread (see the
 * top); resolves with { end: 'done' | 'timeout' | 'ended', outstanding, counters... }, rejects
 * when the socket closes first. params: job, slotBase, window, sizeClass, workers, divisor,
 * baseSeq, retransmitMs, timeoutMs, and for float32 without agreed exponents exponentsOnly (the
 * welcome's flag). Every argument is checked before the thread sees it.
 */
napi_value SocketStream(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, args, 4, "stream(input, output, agreed, params)")) return nullptr;
  WorkerSocket* socket = live_socket(env, args.self, "stream");
  if (!socket) return nullptr;
  if (!socket->thread.joinable()) return fail(env, "stream: not connected"), nullptr;
  auto call = std::make_unique<StreamCall>();
  StreamParams& p = call->params;
  napi_typedarray_type in_kind, out_kind;
  size_t out_count = 0;
  auto cleanup = [&]() { call->release_refs(env); return nullptr; };
  if (!get_elements(env, args.values[0], in_kind, const_cast<uint32_t*&>(p.input), p.count, call->keep[0], "input") ||
      !get_elements(env, args.values[1], out_kind, p.output, out_count, call->keep[1], "output")) {
    return cleanup();
  }
  if (in_kind != out_kind || out_count != p.count) return fail(env, "stream: input and output must be arrays of one type and length"), cleanup();
  if (p.output != p.input && overlap(p.input, 4 * p.count, p.output, 4 * p.count)) return fail(env, "stream: input and output overlap without being the same array"), cleanup();
  p.is_float = in_kind == napi_float32_array;
  double job, slot_base, window, size_class, workers, divisor, base_seq, retransmit_ms, timeout_ms;
  napi_value params = args.values[3];
  if (!get_param(env, params, "job", 0, 255, false, job) || !get_param(env, params, "slotBase", 0, 0x7fff, false, slot_base) ||
      !get_param(env, params, "window", 1, 0x8000, false, window) || !get_param(env, params, "sizeClass", 0, 7, false, size_class) ||
      !get_param(env, params, "workers", 1, 0x7fffffff, false, workers) || !get_param(env, params, "divisor", 1, 0x7fffffff, false, divisor) ||
      !get_param(env, params, "baseSeq", 0, 9007199254740991.0, false, base_seq) || !get_param(env, params, "retransmitMs", 0.001, 1e9, true, retransmit_ms) ||
      !get_param(env, params, "timeoutMs", 1, 1e12, true, timeout_ms)) {
    return cleanup();
  }
  if (slot_base + window > 0x8000) return fail(env, "stream: slotBase + window exceed the 32768 slots"), cleanup();
  size_t values = (size_t)32 << (int)size_class;
  napi_valuetype agreed_type;
  napi_typeof(env, args.values[2], &agreed_type);
  if (p.is_float && (agreed_type == napi_null || agreed_type == napi_undefined)) {
    // The exponents are agreed in the stream (SwitchML's lead, switch-stream.h).
    napi_value flag;
    bool has = false;
    if (napi_has_named_property(env, params, "exponentsOnly", &has) != napi_ok) return fail(env, "stream: could not read params.exponentsOnly"), cleanup();
    if (has) {
      napi_valuetype flag_type;
      if (napi_get_named_property(env, params, "exponentsOnly", &flag) != napi_ok || napi_typeof(env, flag, &flag_type) != napi_ok || flag_type != napi_boolean ||
          napi_get_value_bool(env, flag, &p.exponents_only) != napi_ok) {
        return fail(env, "stream: params.exponentsOnly must be a boolean"), cleanup();
      }
    }
  } else if (p.is_float) {
    size_t blocks = (p.count + values / 2 - 1) / (values / 2), given = 0;
    napi_typedarray_type kind;
    void* raw = nullptr;
    bool typed = false;
    napi_is_typedarray(env, args.values[2], &typed);
    if (!typed || napi_get_typedarray_info(env, args.values[2], &kind, &given, &raw, nullptr, nullptr) != napi_ok || kind != napi_int32_array || given != blocks) {
      return fail(env, "stream: float32 takes agreed exponents, an Int32Array of " + std::to_string(blocks) + " (one per half packet), or null to agree them in the stream"), cleanup();
    }
    if (raw == nullptr && given != 0) return fail(env, "stream: agreed: detached buffer"), cleanup();
    if (overlap(raw, 4 * given, p.output, 4 * p.count)) return fail(env, "stream: agreed and output overlap"), cleanup();
    p.agreed = static_cast<const int32_t*>(raw);
    if (napi_create_reference(env, args.values[2], 1, &call->keep[2]) != napi_ok) return fail(env, "stream: could not reference the exponents"), cleanup();
  } else if (agreed_type != napi_null && agreed_type != napi_undefined) {
    return fail(env, "stream: int32 takes no exponents (agreed must be null)"), cleanup();
  }
  p.job = (uint8_t)job;
  p.slot_base = (uint32_t)slot_base;
  p.window = (uint32_t)window;
  p.size_class = (uint32_t)size_class;
  p.workers = (uint32_t)workers;
  p.divisor = (uint32_t)divisor;
  p.base_seq = (uint64_t)base_seq;
  p.retransmit_ms = retransmit_ms;
  p.timeout_ms = timeout_ms;
  napi_value promise, name;
  if (napi_create_promise(env, &call->deferred, &promise) != napi_ok) return fail(env, "stream: could not create the promise"), cleanup();
  napi_create_string_utf8(env, "webccl-switch-worker-stream", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, nullptr, stream_done, &call->done) != napi_ok) {
    reject_with(env, call->deferred, "stream: could not create the completion queue");
    cleanup();
    return promise;
  }
  {
    std::lock_guard<std::mutex> lock(socket->handover);
    if (socket->active != nullptr) {
      napi_release_threadsafe_function(call->done, napi_tsfn_abort);
      reject_with(env, call->deferred, "stream: a stream is already running on this socket");
      cleanup();
      return promise;
    }
    // The loops the JS thread chose (the test hook writes them here), for the thread to run.
    call->stream = std::make_unique<NativeStream>(p, socket->slot_buffers, socket->pacing, switchml_loops());
    socket->ended_at.store(-1);
    // The first window leaves from here (see the top); the receive thread takes the rest.
    call->stream->start(socket->stream_sender, socket->fd, now_ms());
    socket->stream_sender.flush(socket->fd, 2, &socket->stop);
    socket->active = call.release();
  }
  uint64_t one = 1;
  ssize_t w = write(socket->bell, &one, sizeof one);
  (void)w;
  return promise;
}

/** streamEnded(graceMs): the job ended; the stream ends when no result came for graceMs (worker.ts's ENDED_GRACE_MS). */
napi_value SocketStreamEnded(napi_env env, napi_callback_info info) {
  Args args;
  double grace = 0;
  if (!get_args(env, info, args, 1, "streamEnded(graceMs)")) return nullptr;
  WorkerSocket* socket = live_socket(env, args.self, "streamEnded");
  if (!socket) return nullptr;
  if (napi_get_value_double(env, args.values[0], &grace) != napi_ok || !(grace >= 0)) return fail(env, "streamEnded: graceMs must be a number >= 0"), nullptr;
  socket->grace_ms.store(grace);
  socket->ended_at.store(now_ms());
  return nullptr;
}

napi_value SocketClose(napi_env env, napi_callback_info info) {
  if (auto* socket = closing_object<WorkerSocket>(env, info)) socket->shutdown(env);
  return nullptr;
}

/** streamLead(): true: stream() takes float32 without agreed exponents and agrees them in the stream (an older addon lacks the method). */
napi_value SocketStreamLead(napi_env env, napi_callback_info) {
  napi_value yes;
  napi_get_boolean(env, true, &yes);
  return yes;
}

}  // namespace

napi_value init_switch_worker(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      method("port", SocketPort), method("connect", SocketConnect), method("joinGroup", SocketJoinGroup), method("send", SocketSend), method("counters", SocketCounters),
      method("testRefuseGso", SocketRefuseGso), method("stream", SocketStream), method("streamEnded", SocketStreamEnded),
      method("streamLead", SocketStreamLead), method("close", SocketClose),
  };
  napi_value socket_class;
  napi_define_class(env, "SwitchWorkerSocket", NAPI_AUTO_LENGTH, SocketNew, nullptr, sizeof methods / sizeof methods[0], methods, &socket_class);
  napi_set_named_property(env, exports, "SwitchWorkerSocket", socket_class);
  return exports;
}

}  // namespace webccl
