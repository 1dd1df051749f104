// The software switch's native data plane: it owns the switch's UDP socket and runs SwitchML's
// per-slot rules (switch-rules.h, the twin of lib/switch/data-plane.ts) on its own thread, so
// that no datagram crosses into JS. The control plane stays in TypeScript (lib/switch/): it
// admits jobs and tells this plane about them (addJob with the job's shape and each worker's
// UDP address, removeJob) and reads the counters.
// The thread sleeps in poll on the socket and an eventfd doorbell (rung by close and by a
// synchronous receive that held a datagram back); it reads up to kBatch buffers per recvmmsg
// (a buffer the kernel coalesced with UDP GRO is split into its datagrams, udp-offload.h),
// applies the rules under the plane's mutex, and sends every result of the batch with one
// sendmmsg (a multicast is one buffer referenced once per worker; a worker's consecutive
// results of one size go as one GSO message).
// WebSocket workers (packets on a JS connection) share a job's state through receive(), a
// synchronous call on the JS thread under the same mutex; results a UDP packet completes for a
// job with WebSocket workers are handed to JS through a threadsafe function (onResult).
// Fault injection (--drop/--dup/--reorder) is applied to datagrams received and sent here, with
// faults.ts's seeded xorshift32: a held-back datagram waits 1-4 ms in a queue the thread
// serves by its poll timeout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "napi-util.h"
#include "switch-rules.h"
#include "udp-offload.h"
#include "udp-socket.h"

namespace webccl {
namespace {

using switchml::JobRules;
using switchml::Outcome;
using switchml::kMaxPacket;

constexpr int kBatch = 64;           // buffers per recvmmsg (each a datagram, or up to 64 KiB of them with GRO)
constexpr int kMaxOut = 1024;        // datagrams per sendmmsg (UIO_MAXIOV)
constexpr int kArena = 2 * kBatch;   // result buffers between two flushes
constexpr int kBatchesPerWake = 16;  // then poll again (doorbell, held datagrams)
// n workers' windows queue here at once while the thread waits for a core: 8 workers x 256
// packets of 16 KiB are 35 MiB at their truesize, 8 x 256 of 1 KiB 4.5 MiB. Without
// CAP_NET_ADMIN the kernel grants at most 2 x net.core.rmem_max.
constexpr int kReceiveBuffer = 32 << 20;

int64_t now_us() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

std::string errno_text(const char* what) { return std::string(what) + ": " + strerror(errno); }

/** A sender's address as one key: IPv6 bytes (IPv4 as ::ffff:a.b.c.d) and the port. */
struct AddrKey {
  uint8_t ip[16];
  uint16_t port;
  bool operator==(const AddrKey& o) const { return port == o.port && memcmp(ip, o.ip, 16) == 0; }
};
struct AddrHash {
  size_t operator()(const AddrKey& k) const {
    uint64_t a, b;
    memcpy(&a, k.ip, 8);
    memcpy(&b, k.ip + 8, 8);
    return std::hash<uint64_t>()(a * 0x9e3779b97f4a7c15ull ^ b ^ ((uint64_t)k.port << 48));
  }
};

bool key_of(const sockaddr_storage& addr, AddrKey& key) {
  memset(&key, 0, sizeof key);
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    key.ip[10] = key.ip[11] = 0xff;
    memcpy(key.ip + 12, &in->sin_addr, 4);
    key.port = ntohs(in->sin_port);
    return true;
  }
  if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    memcpy(key.ip, &in6->sin6_addr, 16);
    key.port = ntohs(in6->sin6_port);
    return true;
  }
  return false;
}

struct Peer {
  sockaddr_storage addr{};
  socklen_t length = 0;
  bool udp = false;  // false: a WebSocket worker (its results go through JS)
};

struct Plane;

struct Job {
  Plane* plane = nullptr;  // the plane that holds it
  uint32_t handle = 0;
  JobRules rules;
  std::vector<Peer> peers;
  bool has_web_socket = false;
  // SwitchML's multicast: when the control plane gave the job a group (its UDP workers joined it),
  // a completed slot's result leaves once, to the group, and the kernel copies it to each member;
  // otherwise once per worker. Retransmission answers stay unicast.
  bool multicast = false;
  sockaddr_storage group{};
  socklen_t group_length = 0;
};

/** faults.ts's injector: the same probabilities and xorshift32 sequence. */
struct Faults {
  double drop = 0, dup = 0, reorder = 0;
  uint32_t state = 0x2545f491;
  uint64_t dropped = 0, duplicated = 0, reordered = 0;
  bool active() const { return drop > 0 || dup > 0 || reorder > 0; }
  double random() {
    uint32_t x = state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    state = x;
    return x / 4294967296.0;
  }
};

/** A datagram held back by the reorder fault: received (to process) or to send. */
struct Held {
  int64_t due_us;
  uint64_t order;
  bool outgoing;
  std::vector<uint8_t> bytes;
  sockaddr_storage addr;
  socklen_t length;
  bool operator>(const Held& o) const { return due_us != o.due_us ? due_us > o.due_us : order > o.order; }
};

/** A result for JS to deliver to a job's WebSocket workers. */
struct WebSocketResult {
  uint32_t handle;
  std::vector<uint8_t> bytes;
};

struct Plane {
  int fd = -1, bell = -1, family = AF_INET;
  uint16_t port = 0;
  std::thread thread;
  std::atomic<bool> stop{false};
  bool closed = false;
  napi_threadsafe_function on_result = nullptr;

  std::mutex mutex;  // everything below
  std::unordered_map<uint32_t, std::unique_ptr<Job>> jobs;
  std::unordered_map<AddrKey, std::pair<Job*, int>, AddrHash> senders;
  uint32_t next_handle = 1;
  uint64_t datagrams = 0, strangers = 0;
  in_addr multicast_via{};  // the interface multicast results leave by (0: none yet; set_group)
  std::atomic<uint64_t> send_errors{0};  // direct()'s (JS thread); the thread's are sender.stats.lost
  Faults faults;
  std::priority_queue<Held, std::vector<Held>, std::greater<Held>> held;
  uint64_t held_order = 0;

  // Thread-only: the receive batch, the result buffers and the send batch (their counters are atomic).
  udp::Offload offload;
  udp::Receiver receiver{kBatch};
  std::vector<uint8_t> arena;
  int arena_used = 0;
  udp::Sender sender{kMaxOut};

  void run();
  void receive_batch(int& count);
  void handle(const uint8_t* bytes, size_t length, const sockaddr_storage& from, socklen_t from_length, bool from_thread);
  void deliver(const uint8_t* bytes, size_t length, const sockaddr_storage& to, socklen_t to_length, bool from_thread);
  void direct(const uint8_t* bytes, size_t length, const sockaddr_storage& to, socklen_t to_length);
  void enqueue(const uint8_t* bytes, size_t length, const sockaddr_storage& to, socklen_t to_length);
  uint8_t* buffer();
  void flush();
  void hold(bool outgoing, const uint8_t* bytes, size_t length, const sockaddr_storage& addr, socklen_t addr_length);
  void release_due();
  void send_result(Job& job, Outcome outcome, const uint8_t* out, size_t bytes, const sockaddr_storage& from, socklen_t from_length, bool from_thread);
  void shutdown();
  void ring() { uint64_t one = 1; ssize_t n = write(bell, &one, sizeof one); (void)n; }
};

void Plane::run() {
  arena.resize((size_t)kArena * kMaxPacket);
  while (!stop.load(std::memory_order_acquire)) {
    int timeout = -1;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!held.empty()) timeout = (int)std::max<int64_t>(0, (held.top().due_us - now_us() + 999) / 1000);
    }
    pollfd fds[2] = {{fd, POLLIN, 0}, {bell, POLLIN, 0}};
    int ready = poll(fds, 2, timeout);
    if (ready < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) { uint64_t n; ssize_t r = read(bell, &n, sizeof n); (void)r; }
    if (stop.load(std::memory_order_acquire)) break;
    {
      std::lock_guard<std::mutex> lock(mutex);
      release_due();
    }
    flush();
    if (fds[0].revents & POLLIN) {
      for (int round = 0; round < kBatchesPerWake; round++) {
        int count = 0;
        receive_batch(count);
        flush();
        if (count < kBatch) break;
      }
    }
  }
}

void Plane::receive_batch(int& count) {
  count = receiver.receive(fd);
  if (count == 0) return;
  std::lock_guard<std::mutex> lock(mutex);
  receiver.each([this](const uint8_t* bytes, size_t length, const sockaddr_storage& from, socklen_t from_length) {
    // A datagram longer than kMaxPacket matches no size class (decode drops it).
    if (!faults.active()) return handle(bytes, length, from, from_length, true);
    if (faults.random() < faults.drop) { faults.dropped++; return; }
    int copies = faults.random() < faults.dup ? 2 : 1;
    if (copies == 2) faults.duplicated++;
    for (int c = 0; c < copies; c++) {
      if (faults.random() < faults.reorder) hold(false, bytes, length, from, from_length);
      else handle(bytes, length, from, from_length, true);
    }
  });
}

/** One datagram that passed the receive faults: the sender's job and the rules. Mutex held. */
void Plane::handle(const uint8_t* bytes, size_t length, const sockaddr_storage& from, socklen_t from_length, bool from_thread) {
  datagrams++;
  AddrKey key;
  auto found = key_of(from, key) ? senders.find(key) : senders.end();
  if (found == senders.end()) { strangers++; return; }
  Job& job = *found->second.first;
  switchml::Packet packet;
  if (!switchml::decode(bytes, length, packet, nullptr)) { job.rules.counters.malformed++; return; }
  uint8_t* out = buffer();
  size_t out_length = 0;
  Outcome outcome = job.rules.apply(found->second.second, packet, out, out_length);
  if (outcome != Outcome::multicast && outcome != Outcome::unicast) { arena_used--; return; }  // nothing was written: the buffer is free again
  send_result(job, outcome, out, out_length, from, from_length, from_thread);
}

/** Sends a result: to every UDP worker (and JS for WebSocket ones), or back to the sender. */
void Plane::send_result(Job& job, Outcome outcome, const uint8_t* out, size_t bytes, const sockaddr_storage& from, socklen_t from_length, bool from_thread) {
  if (outcome == Outcome::unicast) {
    deliver(out, bytes, from, from_length, from_thread);
  } else if (outcome == Outcome::multicast) {
    if (job.multicast) {
      deliver(out, bytes, job.group, job.group_length, from_thread);
    } else {
      for (const Peer& peer : job.peers) if (peer.udp) deliver(out, bytes, peer.addr, peer.length, from_thread);
    }
    if (job.has_web_socket && from_thread) {
      auto* result = new WebSocketResult{job.handle, std::vector<uint8_t>(out, out + bytes)};
      if (napi_call_threadsafe_function(on_result, result, napi_tsfn_nonblocking) != napi_ok) delete result;
    }
  }
}

/** A datagram to send, through the send faults. Mutex held. */
void Plane::deliver(const uint8_t* bytes, size_t length, const sockaddr_storage& to, socklen_t to_length, bool from_thread) {
  int copies = 1;
  if (faults.active()) {
    if (faults.random() < faults.drop) { faults.dropped++; return; }
    copies = faults.random() < faults.dup ? 2 : 1;
    if (copies == 2) faults.duplicated++;
  }
  for (int c = 0; c < copies; c++) {
    if (faults.active() && faults.random() < faults.reorder) {
      hold(true, bytes, length, to, to_length);
      if (!from_thread) ring();  // the thread's poll timeout must cover the new deadline
    } else if (from_thread) {
      enqueue(bytes, length, to, to_length);
    } else {
      direct(bytes, length, to, to_length);
    }
  }
}

/** A send from the JS thread (a WebSocket worker's packet completed a copy). */
void Plane::direct(const uint8_t* bytes, size_t length, const sockaddr_storage& to, socklen_t to_length) {
  if (sendto(fd, bytes, length, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to), to_length) < 0) send_errors++;
}

/** A free result buffer (the thread's); flushes first when every one is referenced by a queued send. */
uint8_t* Plane::buffer() {
  if (arena_used == kArena) {
    flush();
    arena_used = 0;
  }
  return arena.data() + (size_t)(arena_used++) * kMaxPacket;
}

void Plane::enqueue(const uint8_t* bytes, size_t length, const sockaddr_storage& to, socklen_t to_length) {
  if (sender.full()) flush();
  sender.add(bytes, length, &to, to_length);
}

/** Sends the queued datagrams; a full send buffer gets up to 100 ms, then the rest is dropped (loss is repaired). */
void Plane::flush() {
  if (!sender.empty()) sender.flush(fd, 100, &stop);
}

void Plane::hold(bool outgoing, const uint8_t* bytes, size_t length, const sockaddr_storage& addr, socklen_t addr_length) {
  faults.reordered++;
  int64_t delay_ms = 1 + (int64_t)(faults.random() * 4);
  held.push(Held{now_us() + delay_ms * 1000, held_order++, outgoing, std::vector<uint8_t>(bytes, bytes + length), addr, addr_length});
}

/** Held datagrams whose time has come: received ones are handled, sent ones queued. Mutex held. */
void Plane::release_due() {
  int64_t now = now_us();
  while (!held.empty() && held.top().due_us <= now) {
    Held h = held.top();
    held.pop();
    if (h.outgoing) {
      uint8_t* copy = buffer();
      memcpy(copy, h.bytes.data(), std::min(h.bytes.size(), kMaxPacket));
      enqueue(copy, std::min(h.bytes.size(), kMaxPacket), h.addr, h.length);
    } else {
      handle(h.bytes.data(), h.bytes.size(), h.addr, h.length, true);
    }
  }
}

void Plane::shutdown() {
  if (closed) return;
  closed = true;
  if (thread.joinable()) {
    stop.store(true, std::memory_order_release);
    ring();
    thread.join();
  }
  if (fd >= 0) close(fd);
  if (bell >= 0) close(bell);
  fd = bell = -1;
  std::lock_guard<std::mutex> lock(mutex);
  senders.clear();
  jobs.clear();
  while (!held.empty()) held.pop();
  arena = {};
}

// ---- JS surface ---------------------------------------------------------------------------

Plane* live_plane(napi_env env, napi_value self, const char* what) {
  void* object = nullptr;
  if (napi_unwrap(env, self, &object) != napi_ok || !object) return fail(env, std::string(what) + ": not a live object"), nullptr;
  auto* plane = static_cast<Plane*>(object);
  if (plane->closed) return fail(env, std::string(what) + ": the data plane was closed"), nullptr;
  return plane;
}

void deliver_result(napi_env env, napi_value callback, void*, void* data) {
  std::unique_ptr<WebSocketResult> result(static_cast<WebSocketResult*>(data));
  if (!env) return;
  napi_value args[2], undefined;
  napi_get_undefined(env, &undefined);
  napi_create_uint32(env, result->handle, &args[0]);
  void* copy = nullptr;
  napi_create_buffer_copy(env, result->bytes.size(), result->bytes.data(), &copy, &args[1]);
  napi_call_function(env, undefined, callback, 2, args, nullptr);
}

bool get_probability(napi_env env, napi_value object, const char* name, double& out) {
  napi_value value;
  napi_valuetype type = napi_undefined;
  if (napi_get_named_property(env, object, name, &value) == napi_ok) napi_typeof(env, value, &type);
  if (type == napi_undefined) return true;
  if (type != napi_number || napi_get_value_double(env, value, &out) != napi_ok || !(out >= 0 && out <= 1)) {
    return fail(env, std::string("fault probability ") + name + " must be a number in [0, 1]");
  }
  return true;
}

napi_value get_number_property(napi_env env, napi_value object, const char* name) {
  napi_value value = nullptr;
  napi_get_named_property(env, object, name, &value);
  return value;
}

/** new SwitchDataPlane(host, port, onResult(handle, bytes), faults?): binds the UDP socket and starts the thread. */
napi_value PlaneNew(napi_env env, napi_callback_info info) {
  Args args;
  std::string host;
  uint64_t port = 0;
  if (!get_args(env, info, args, 3, "new SwitchDataPlane(host, port, onResult, faults?)") || !get_string(env, args.values[0], host, "host") ||
      !get_index(env, args.values[1], port, "port")) {
    return nullptr;
  }
  if (port > 65535) return fail(env, "port must be in 0 .. 65535"), nullptr;
  napi_valuetype type;
  napi_typeof(env, args.values[2], &type);
  if (type != napi_function) return fail(env, "onResult must be a function"), nullptr;
  Faults faults;
  napi_valuetype faults_type = napi_undefined;
  if (args.count > 3) napi_typeof(env, args.values[3], &faults_type);
  if (faults_type == napi_object) {
    if (!get_probability(env, args.values[3], "drop", faults.drop) || !get_probability(env, args.values[3], "dup", faults.dup) ||
        !get_probability(env, args.values[3], "reorder", faults.reorder)) {
      return nullptr;
    }
    napi_value seed = get_number_property(env, args.values[3], "seed");
    napi_valuetype seed_type = napi_undefined;
    if (seed) napi_typeof(env, seed, &seed_type);
    if (seed_type == napi_number) {
      double s = 0;
      napi_get_value_double(env, seed, &s);
      faults.state = (uint32_t)(int64_t)s;
      if (faults.state == 0) faults.state = 1;
    }
  } else if (faults_type != napi_undefined) {
    return fail(env, "faults must be an object"), nullptr;
  }
  int family;
  uint16_t bound_port;
  std::string why;
  int fd = open_udp(host, (uint32_t)port, kReceiveBuffer, family, bound_port, why);
  if (fd < 0) return fail(env, why), nullptr;
  int bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (bell < 0) { close(fd); return fail(env, errno_text("eventfd")), nullptr; }
  auto* plane = new Plane();
  plane->fd = fd;
  plane->bell = bell;
  plane->family = family;
  plane->faults = faults;
  plane->port = bound_port;
  plane->offload = udp::enable_offload(fd);
  plane->sender.gso = plane->offload.gso;
  napi_value name;
  napi_create_string_utf8(env, "webccl-switch-results", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, args.values[2], nullptr, name, 0, 1, nullptr, nullptr, nullptr, deliver_result, &plane->on_result) != napi_ok) {
    close(fd);
    close(bell);
    delete plane;
    return fail(env, "could not create the result queue"), nullptr;
  }
  // The struct outlives close() (the JS object may still be called); it is freed when collected after close.
  napi_wrap(env, args.self, plane, [](napi_env, void* data, void*) {
    auto* p = static_cast<Plane*>(data);
    if (p->closed) delete p;
  }, nullptr, nullptr);
  plane->thread = std::thread([plane] { plane->run(); });
  return args.self;
}

napi_value PlanePort(napi_env env, napi_callback_info info) {
  Args args;
  get_args(env, info, args, 0, "port()");
  Plane* plane = live_plane(env, args.self, "port");
  if (!plane) return nullptr;
  napi_value value;
  napi_create_uint32(env, plane->port, &value);
  return value;
}

/**
 * The IPv4 group the job's results go to (`group`, `port`), sent from interface `via` (the
 * workers' side of the switch: 127.0.0.1 for same-host workers). The socket has one multicast
 * interface, so a job that needs another one than the plane already uses is refused here (the
 * control plane then keeps that job on unicast). Mutex not needed: called before the job is shared.
 */
bool set_group(napi_env env, Plane* plane, Job& job, napi_value group_value, napi_value port_value, napi_value via_value) {
  std::string group, via;
  uint64_t port;
  if (!get_string(env, group_value, group, "group") || !get_index(env, port_value, port, "groupPort") || !get_string(env, via_value, via, "via")) return false;
  in_addr group_ip{}, via_ip{};
  if (plane->family != AF_INET) return fail(env, "multicast groups need an IPv4 switch socket");
  if (inet_pton(AF_INET, group.c_str(), &group_ip) != 1 || !IN_MULTICAST(ntohl(group_ip.s_addr))) return fail(env, "group " + group + " is not an IPv4 multicast address");
  if (inet_pton(AF_INET, via.c_str(), &via_ip) != 1) return fail(env, "via " + via + " is not an IPv4 address");
  if (port < 1 || port > 65535) return fail(env, "groupPort must be in 1 .. 65535");
  std::lock_guard<std::mutex> lock(plane->mutex);
  if (plane->multicast_via.s_addr == 0) {
    unsigned char loop = 1, ttl = 1;  // the workers may share the switch's host; one hop: a LAN, never routed on
    if (setsockopt(plane->fd, IPPROTO_IP, IP_MULTICAST_IF, &via_ip, sizeof via_ip) != 0 ||
        setsockopt(plane->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0 ||
        setsockopt(plane->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0) {
      return fail(env, errno_text("multicast socket options"));
    }
    plane->multicast_via = via_ip;
  } else if (plane->multicast_via.s_addr != via_ip.s_addr) {
    return fail(env, "the switch already multicasts from another interface than " + via);
  }
  make_addr(AF_INET, group, (uint32_t)port, job.group, job.group_length);
  job.multicast = true;
  return true;
}

/**
 * addJob(number, workers, slotBase, slots, sizeClass, hosts, ports, group?, groupPort?, via?):
 * hosts[w] is worker w's IPv4/IPv6 address, or null for a WebSocket worker; with a group, each
 * result goes once to group:groupPort from interface `via` (set_group). Returns the job's handle.
 */
napi_value PlaneAddJob(napi_env env, napi_callback_info info) {
  Args args;
  uint64_t number, workers, slot_base, slots, size_class;
  if (!get_args(env, info, args, 7, "addJob(number, workers, slotBase, slots, sizeClass, hosts, ports, group?, groupPort?, via?)")) return nullptr;
  Plane* plane = live_plane(env, args.self, "addJob");
  if (!plane || !get_index(env, args.values[0], number, "number") || !get_index(env, args.values[1], workers, "workers") ||
      !get_index(env, args.values[2], slot_base, "slotBase") || !get_index(env, args.values[3], slots, "slots") ||
      !get_index(env, args.values[4], size_class, "sizeClass")) {
    return nullptr;
  }
  if (number > 255) return fail(env, "job number " + std::to_string(number) + " is not in [0, 255]"), nullptr;
  if (workers < 1 || workers > (uint64_t)switchml::kMaxWorkers) return fail(env, "a job has 1 to 32 workers, not " + std::to_string(workers)), nullptr;
  if (slots < 1 || slot_base + slots > (uint64_t)switchml::kSlotLimit) return fail(env, "slots do not fit the 15-bit pool index"), nullptr;
  if (size_class > (uint64_t)switchml::kMaxSizeClass) return fail(env, "size class " + std::to_string(size_class) + " is not in [0, 7]"), nullptr;
  bool hosts_array = false, ports_array = false;
  napi_is_array(env, args.values[5], &hosts_array);
  napi_is_array(env, args.values[6], &ports_array);
  uint32_t host_count = 0, port_count = 0;
  if (hosts_array) napi_get_array_length(env, args.values[5], &host_count);
  if (ports_array) napi_get_array_length(env, args.values[6], &port_count);
  if (!hosts_array || !ports_array || host_count != workers || port_count != workers) return fail(env, "hosts and ports must be arrays of one entry per worker"), nullptr;
  auto job = std::make_unique<Job>();
  job->peers.resize(workers);
  std::vector<AddrKey> keys(workers);
  for (uint32_t w = 0; w < workers; w++) {
    napi_value host_value, port_value;
    napi_get_element(env, args.values[5], w, &host_value);
    napi_get_element(env, args.values[6], w, &port_value);
    napi_valuetype host_type;
    napi_typeof(env, host_value, &host_type);
    if (host_type == napi_null) { job->has_web_socket = true; continue; }
    std::string host;
    uint64_t port;
    if (!get_string(env, host_value, host, "host") || !get_index(env, port_value, port, "port")) return nullptr;
    Peer& peer = job->peers[w];
    if (port < 1 || port > 65535 || !make_addr(plane->family, host, (uint32_t)port, peer.addr, peer.length)) {
      return fail(env, "worker " + std::to_string(w) + " has no address this socket can reach: " + host + ":" + std::to_string(port)), nullptr;
    }
    peer.udp = true;
    key_of(peer.addr, keys[w]);
  }
  job->rules.init((int)number, (int)workers, (int)slot_base, (int)slots, (int)size_class, switchml_loops());
  napi_valuetype group_type = napi_undefined;
  if (args.count > 7) napi_typeof(env, args.values[7], &group_type);
  if (group_type != napi_undefined && group_type != napi_null) {
    if (args.count < 10) return fail(env, "addJob: a group needs groupPort and via"), nullptr;
    if (!set_group(env, plane, *job, args.values[7], args.values[8], args.values[9])) return nullptr;
  }
  std::lock_guard<std::mutex> lock(plane->mutex);
  for (uint32_t w = 0; w < workers; w++) {
    if (job->peers[w].udp && plane->senders.count(keys[w])) return fail(env, "worker " + std::to_string(w) + "'s address is already a worker"), nullptr;
  }
  job->handle = plane->next_handle++;
  job->plane = plane;
  for (uint32_t w = 0; w < workers; w++) if (job->peers[w].udp) plane->senders[keys[w]] = {job.get(), (int)w};
  uint32_t handle = job->handle;
  plane->jobs[handle] = std::move(job);
  napi_value value;
  napi_create_uint32(env, handle, &value);
  return value;
}

/**
 * The job that a call names by its first argument, with the plane's mutex held in `lock`
 * (nullptr after throwing: bad arguments, a closed plane, an unknown handle).
 */
Job* locked_job(napi_env env, napi_callback_info info, Args& args, size_t needed, const char* usage, const char* what, std::unique_lock<std::mutex>& lock) {
  if (!get_args(env, info, args, needed, usage)) return nullptr;
  Plane* plane = live_plane(env, args.self, what);
  uint64_t handle;
  if (!plane || !get_index(env, args.values[0], handle, "handle")) return nullptr;
  lock = std::unique_lock<std::mutex>(plane->mutex);
  auto found = handle > 0xffffffffu ? plane->jobs.end() : plane->jobs.find((uint32_t)handle);
  if (found == plane->jobs.end()) return fail(env, std::string(what) + ": no job " + std::to_string(handle)), nullptr;
  return found->second.get();
}

napi_value PlaneRemoveJob(napi_env env, napi_callback_info info) {
  Args args;
  std::unique_lock<std::mutex> lock;
  Job* job = locked_job(env, info, args, 1, "removeJob(handle)", "removeJob", lock);
  if (!job) return nullptr;
  Plane* plane = job->plane;
  for (const Peer& peer : job->peers) {
    AddrKey key;
    if (peer.udp && key_of(peer.addr, key)) plane->senders.erase(key);
  }
  plane->jobs.erase(job->handle);
  return nullptr;
}

napi_value verdict(napi_env env, const char* kind, const std::string* reason, const uint8_t* bytes, size_t length) {
  napi_value object, value;
  napi_create_object(env, &object);
  napi_create_string_utf8(env, kind, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, object, "kind", value);
  if (reason) {
    napi_create_string_utf8(env, reason->c_str(), reason->size(), &value);
    napi_set_named_property(env, object, "reason", value);
  }
  if (bytes) {
    void* copy = nullptr;
    napi_value buffer;
    napi_create_arraybuffer(env, length, &copy, &buffer);
    memcpy(copy, bytes, length);
    napi_create_typedarray(env, napi_uint8_array, length, buffer, 0, &value);
    napi_set_named_property(env, object, "bytes", value);
  }
  return object;
}

/**
 * receive(handle, worker, bytes): a packet of the job's worker that did not come by this
 * socket (a WebSocket worker's). Returns data-plane.ts's Verdict; a multicast has already gone
 * to the job's UDP workers, and its bytes are for JS to give the WebSocket ones.
 */
napi_value PlaneReceive(napi_env env, napi_callback_info info) {
  Args args;
  uint64_t worker;
  uint8_t* bytes;
  size_t length;
  std::unique_lock<std::mutex> lock;
  Job* job = locked_job(env, info, args, 3, "receive(handle, worker, bytes)", "receive", lock);
  if (!job || !get_index(env, args.values[1], worker, "worker") || !get_bytes(env, args.values[2], bytes, length, "bytes")) return nullptr;
  Plane* plane = job->plane;
  if (worker >= (uint64_t)job->rules.workers) return fail(env, "receive: worker " + std::to_string(worker) + " is not in the job"), nullptr;
  switchml::Packet packet;
  std::string why;
  if (!switchml::decode(bytes, length, packet, &why)) {
    job->rules.counters.malformed++;
    return verdict(env, "drop", &why, nullptr, 0);
  }
  uint8_t out[kMaxPacket];
  size_t out_length = 0;
  Outcome outcome = job->rules.apply((int)worker, packet, out, out_length);
  if (outcome == Outcome::absorbed) return verdict(env, "absorbed", nullptr, nullptr, 0);
  if (outcome == Outcome::unicast) return verdict(env, "unicast", nullptr, out, out_length);
  if (outcome == Outcome::multicast) {
    sockaddr_storage none{};
    plane->send_result(*job, outcome, out, out_length, none, 0, false);
    return verdict(env, "multicast", nullptr, out, out_length);
  }
  why = job->rules.reason(outcome, packet, (int)worker);
  return verdict(env, "drop", &why, nullptr, 0);
}

/** malformed(handle): counts a message of the job that is no packet at all (a text frame). */
napi_value PlaneMalformed(napi_env env, napi_callback_info info) {
  Args args;
  std::unique_lock<std::mutex> lock;
  Job* job = locked_job(env, info, args, 1, "malformed(handle)", "malformed", lock);
  if (job) job->rules.counters.malformed++;
  return nullptr;
}

napi_value PlaneJobCounters(napi_env env, napi_callback_info info) {
  Args args;
  std::unique_lock<std::mutex> lock;
  Job* job = locked_job(env, info, args, 1, "jobCounters(handle)", "jobCounters", lock);
  if (!job) return nullptr;
  const switchml::Counters& c = job->rules.counters;
  napi_value object;
  napi_create_object(env, &object);
  set_number(env, object, "packetsIn", (double)c.packets_in);
  set_number(env, object, "packetsOut", (double)c.packets_out);
  set_number(env, object, "retransmissions", (double)c.retransmissions);
  set_number(env, object, "stale", (double)c.stale);
  set_number(env, object, "droppedIncomplete", (double)c.dropped_incomplete);
  set_number(env, object, "wrongJob", (double)c.wrong_job);
  set_number(env, object, "malformed", (double)c.malformed);
  return object;
}

napi_value PlaneCounters(napi_env env, napi_callback_info info) {
  Args args;
  get_args(env, info, args, 0, "counters()");
  Plane* plane = live_plane(env, args.self, "counters");
  if (!plane) return nullptr;
  std::lock_guard<std::mutex> lock(plane->mutex);
  napi_value object;
  napi_create_object(env, &object);
  set_number(env, object, "datagrams", (double)plane->datagrams);
  set_number(env, object, "strangers", (double)plane->strangers);
  udp::report(plane->sender, plane->receiver, plane->offload, [&](const char* name, double number) { set_number(env, object, name, number); },
              [&](const char* name, bool flag) { set_bool(env, object, name, flag); });
  set_number(env, object, "sendErrors", (double)(plane->send_errors.load() + plane->sender.stats.lost.load()));
  set_number(env, object, "dropped", (double)plane->faults.dropped);
  set_number(env, object, "duplicated", (double)plane->faults.duplicated);
  set_number(env, object, "reordered", (double)plane->faults.reordered);
  set_number(env, object, "jobs", (double)plane->jobs.size());
  return object;
}

/** close(): joins the thread, closes the socket and doorbell, frees the jobs. Idempotent. */
napi_value PlaneClose(napi_env env, napi_callback_info info) {
  auto* plane = closing_object<Plane>(env, info);
  if (!plane || plane->closed) return nullptr;
  plane->shutdown();
  napi_release_threadsafe_function(plane->on_result, napi_tsfn_release);
  return nullptr;
}

}  // namespace

napi_value init_switch(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      method("port", PlanePort), method("addJob", PlaneAddJob), method("removeJob", PlaneRemoveJob), method("receive", PlaneReceive),
      method("malformed", PlaneMalformed), method("jobCounters", PlaneJobCounters), method("counters", PlaneCounters), method("close", PlaneClose),
  };
  napi_value plane_class;
  napi_define_class(env, "SwitchDataPlane", NAPI_AUTO_LENGTH, PlaneNew, nullptr, sizeof methods / sizeof methods[0], methods, &plane_class);
  napi_set_named_property(env, exports, "SwitchDataPlane", plane_class);
  return exports;
}

}  // namespace webccl
