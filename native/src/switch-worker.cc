// A switch worker's UDP socket in native code (lib/switch/udp-link.ts uses it when the addon has
// it): the JS thread sends a batch of packets with one sendmmsg, and a receive thread reads
// results with recvmmsg and hands each batch to JS in one threadsafe-function call (a buffer of
// the datagrams end to end and their lengths), so a window of results costs one event-loop
// turn instead of one per datagram. The queue to JS is bounded: when JS falls behind, the thread
// waits, the kernel's receive buffer fills and the switch's results are dropped there, which the
// worker's retransmission repairs, as with Node's dgram socket.
// Both directions use the kernel's UDP offloads (udp-offload.h): a batch's packets of one size
// leave as GSO messages, and coalesced results are split before JS sees them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "napi-util.h"
#include "udp-offload.h"
#include "udp-socket.h"

namespace webccl {
namespace {

constexpr int kBatch = 64;      // receive buffers per recvmmsg
constexpr int kSendBatch = 1024;  // datagrams per flush of a send (a window's worth)
constexpr size_t kQueued = 16;  // batches waiting for JS before the thread waits too
constexpr int kReceiveBuffer = 8 << 20;  // a window of results, and unicast answers to retransmissions

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

  void run();
  void shutdown();
};

void WorkerSocket::run() {
  while (!stop.load(std::memory_order_acquire)) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {bell, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (stop.load(std::memory_order_acquire)) break;
    if (!(fds[0].revents & POLLIN)) continue;
    if (receiver.receive(fd) == 0) continue;
    // A coalesced buffer's datagrams already lie end to end: only the lengths need splitting.
    auto* batch = new Batch();
    batch->bytes.reserve(receiver.bytes());
    receiver.each([batch](const uint8_t* bytes, size_t length, const sockaddr_storage&, socklen_t) {
      batch->bytes.insert(batch->bytes.end(), bytes, bytes + length);
      batch->lengths.push_back((uint32_t)length);
    });
    // Blocking: a full queue means JS is behind; close() aborts the function, which frees this wait.
    if (napi_call_threadsafe_function(on_packets, batch, napi_tsfn_blocking) != napi_ok) {
      delete batch;
      break;
    }
  }
}

void WorkerSocket::shutdown() {
  if (closed) return;
  closed = true;
  stop.store(true, std::memory_order_release);
  uint64_t one = 1;
  ssize_t w = write(bell, &one, sizeof one);
  (void)w;
  // Abort before joining: a thread waiting on a full queue returns at once.
  napi_release_threadsafe_function(on_packets, napi_tsfn_abort);
  if (thread.joinable()) thread.join();
  close(fd);
  close(bell);
  fd = bell = -1;
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

napi_value SocketClose(napi_env env, napi_callback_info info) {
  Args args;
  get_args(env, info, args, 0, "close()");
  void* object = nullptr;
  if (napi_unwrap(env, args.self, &object) != napi_ok || !object) return nullptr;
  static_cast<WorkerSocket*>(object)->shutdown();
  return nullptr;
}

}  // namespace

napi_value init_switch_worker(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      method("port", SocketPort), method("connect", SocketConnect), method("send", SocketSend), method("counters", SocketCounters),
      method("testRefuseGso", SocketRefuseGso),
      method("close", SocketClose),
  };
  napi_value socket_class;
  napi_define_class(env, "SwitchWorkerSocket", NAPI_AUTO_LENGTH, SocketNew, nullptr, sizeof methods / sizeof methods[0], methods, &socket_class);
  napi_set_named_property(env, exports, "SwitchWorkerSocket", socket_class);
  return exports;
}

}  // namespace webccl
