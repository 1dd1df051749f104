// The tcp provider of the RDMA-semantics API: ranks on different hosts, the same surface as the
// shm provider (shm.cc) so that lib/native/shm.ts and the framed channel above drive either:
//   TcpContext   ~ ibv_context + protection domain: memory regions (MR), the completion queue
//                  (delivered through a threadsafe function);
//   TcpEndpoint  ~ a reliable-connected QP: one TCP connection formed from exchanged address
//                  blobs ("ip:port token"), postSend/postRecv, postWrite (RDMA write, with an
//                  optional immediate that consumes a posted receive at the target).
// Each endpoint has one native I/O thread that sleeps in epoll on its socket and an eventfd
// doorbell (rung by the JS thread after a post and by destroy); it writes records with writev
// (header + payload straight from the registered region) and reads payloads straight into the
// posted receive's region, so Node's stream machinery never sees the bytes. Small records the
// JS thread reads itself, from its event loop, while the I/O thread has nothing to read: a
// message then costs one wakeup, not two ("the JS thread's reads" below). Expected receives
// (postExpect, like tagged receives matched on a message's first 56 bytes) take the rest of a
// matching message straight into their own region, or fold it in there piece by piece with the
// SIMD kernels as it arrives (the ntcp channel lists one per landing: native/README.md).
// Forming: both sides call connect(peerBlob); the side whose blob sorts first dials, the other
// accepts on its own listener. Both then send a fixed-size hello (magic, the job secret's
// digest, the peer's token) and check the one they receive in constant time. The acceptor reads
// at most a hello's bytes from a stranger, within a few seconds, and then drops it and keeps
// listening; the listener closes as soon as the real peer is in.
// Every argument is validated on the JS thread (throws ERR_WEBCCL_NATIVE); the I/O thread
// revalidates keys and bounds before it touches memory, and a malformed record from the peer
// breaks the endpoint (every pending operation fails), never memory.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "napi-util.h"
#include "provider-common.h"
#include "reduce.h"

namespace webccl {

// addon.cc's readers of a reduction's dtype and op names.
bool parse_dtype(napi_env env, napi_value value, DType& out);
bool parse_op(napi_env env, napi_value value, webccl::Op& out);

namespace {

constexpr char kMagic[8] = {'W', 'C', 'C', 'L', 'T', 'C', 'P', '1'};
constexpr size_t kDigestChars = 48;
constexpr size_t kTokenChars = 32;
constexpr size_t kHelloBytes = sizeof kMagic + kDigestChars + kTokenChars;
constexpr int kStrangerMs = 3000;  // a connection must say hello within this, or it is dropped
constexpr uint64_t kMaxChunk = 4u << 20;  // bytes per writev/recv call (keeps a deregistration's wait short)
constexpr size_t kMaxInline = 64;  // bytes a send may carry inline, ahead of its region's bytes
// Expected receives (postExpect): a message whose first kHeadBytes equal an expectation's head
// has the rest of its payload put straight into the expectation's region, or folded into it.
constexpr size_t kHeadBytes = 56;  // the framed transport's frame header
// Expectations listed per endpoint at once: one per frame of every landing posted (a 4-rank
// 256 MiB ring has 4 pipelines of 16 MiB messages, 8 frames each, 2 receives posted a pipeline:
// 64). A head is compared with the list once per frame, a scan of at most this many entries.
constexpr size_t kMaxExpects = 256;
// Folds on arrival go through a bounce buffer of this many bytes: each piece is reduced into the
// destination right after it is received, while it is still in the core's cache (a multiple of every element size).
constexpr uint64_t kFoldPiece = 256u << 10;
// Records of at most this many payload bytes the JS thread reads itself, when reading is its
// (see "the JS thread's reads"), and messages of at most this many bytes, header included, it
// sends itself (send_now); a larger one it leaves to the I/O thread, whose copy overlaps the JS
// thread's work. 64 KiB, not 16: a collective's 16 KiB payload carries a frame header, and up to
// 64 KiB the wakeup saved outweighs the copy (2 ranks' 16 KiB allreduce 1.7-2.4x, 4 and 8 ranks'
// 64 KiB 1.4-1.8x; docs/PERFORMANCE.md jsread45 and jsread46).
constexpr uint64_t kJsRecordBytes = 64u << 10;

// Process-wide counts of who read the records (tcpCounters()): what the JS thread's reads take
// over from the I/O thread, independent of how busy the machine is.
struct Counters {
  std::atomic<uint64_t> js_records{0};  // records read to their end by the JS thread
  std::atomic<uint64_t> io_records{0};  // records read to their end by the I/O thread
  std::atomic<uint64_t> hand_overs{0};  // reading handed from the JS thread to the I/O thread
  std::atomic<uint64_t> hand_backs{0};  // reading handed from the I/O thread back to the JS thread
  std::atomic<uint64_t> split_sends{0};  // send_now messages the socket took only part of
  std::atomic<uint64_t> js_delivered{0};  // receive completions the JS thread delivered itself, not through the queue
} counters;

void count(std::atomic<uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

enum RecordType : uint32_t { kSend = 1, kWrite = 2, kGoodbye = 3 };
constexpr uint32_t kImm = 1;

/** The wire header before each payload (little-endian hosts only, like the shm segments). */
struct WireRecord {
  uint32_t type;
  uint32_t flags;
  uint32_t imm;
  uint32_t reserved;
  uint64_t length;
  uint64_t key;
  uint64_t offset;
};
static_assert(sizeof(WireRecord) == 40, "wire header layout");

int64_t now_ms() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

std::string errno_text(const char* what) { return std::string(what) + ": " + strerror(errno); }

bool equal_constant_time(const uint8_t* a, const uint8_t* b, size_t n) {
  uint8_t diff = 0;
  for (size_t i = 0; i < n; i++) diff |= a[i] ^ b[i];
  return diff == 0;
}

struct Context : ContextBase {
  using Base = ContextBase;
  std::string digest;
  in_addr_t bind_host = htonl(INADDR_LOOPBACK);
  // Per region slot, the I/O threads' system calls reading from or writing into it right now.
  // They run without the context's lock, so that the endpoints of one context (one per peer)
  // do not wait on each other's sockets; a deregistration waits here, under the lock (no new
  // call can start), until they are out, before its memory may go.
  std::atomic<uint32_t> in_io[kMaxRegions] = {};

  void published(uint32_t slot) override {
    while (in_io[slot].load(std::memory_order_acquire) != 0) std::this_thread::yield();
  }

  /** locate() and, when found, the region held against deregistration until release(slot_of(key)). Takes the lock. */
  uint8_t* hold(uint64_t key, uint64_t offset, uint64_t length, std::string& why) {
    std::lock_guard<std::mutex> lock(mutex);
    uint8_t* bytes = locate(key, offset, length, why);
    if (bytes) in_io[key & 0xff].fetch_add(1, std::memory_order_acq_rel);
    return bytes;
  }
  void release(uint64_t key) { in_io[key & 0xff].fetch_sub(1, std::memory_order_release); }
  // The receive completions of the records the JS thread read in this turn of the event loop,
  // delivered in its check phase (deliver_ready_later), right after the poll phase that read every
  // readable socket: one delivery for all of them, as the queue's would be, without its eventfd
  // write and the turn of the loop it waits for. Handles and completions are the JS thread's.
  std::vector<Completion*> ready;
  uv_check_t* deliverer = nullptr;
  bool deliver_ready_later(std::vector<Completion*>& batch, uv_loop_t* loop);
  void release(napi_env) override {
    for (Completion* completion : ready) delete completion;
    ready.clear();
    if (deliverer) uv_close(reinterpret_cast<uv_handle_t*>(deliverer), [](uv_handle_t* handle) { delete reinterpret_cast<uv_check_t*>(handle); });
    deliverer = nullptr;
  }
};
struct Op : WorkRequest {
  uint64_t sent = 0;  // bytes of header + inline + payload on the wire
  // Like IBV_SEND_INLINE: a few bytes copied at post time and sent before the region's bytes,
  // so a frame header and a payload that lives elsewhere (the message itself) go as one send
  // without staging the payload next to the header.
  uint32_t inline_length = 0;
  uint8_t inline_data[kMaxInline];
  // A send_now's payload in place of a region's: the caller's bytes while it writes (borrowed),
  // or a copy of them when the socket took only part and the rest is queued (owned).
  const uint8_t* borrowed = nullptr;
  std::shared_ptr<std::vector<uint8_t>> owned;
  const uint8_t* payload() const { return owned ? owned->data() : borrowed; }

  uint64_t total() const { return sizeof(WireRecord) + inline_length + length; }
};

/** A receive expected by its first bytes (like a tagged receive): where the rest of its payload goes. */
struct Expect {
  uint32_t id = 0;
  uint8_t head[kHeadBytes];
  uint64_t key = 0, offset = 0, length = 0;  // the region the bytes after the head go to
  bool folds = false;  // fold (dst = dst op bytes) instead of copying
  DType dtype = DType::f32;
  webccl::Op op = webccl::Op::sum;  // the reduction (this file's Op is a posted operation)
};

struct Endpoint : QueuedEndpoint<Context, Op> {
  std::string label;
  std::string token;  // mine: the peer must present it in its hello
  int listener = -1;
  uint16_t port = 0;
  int sock = -1;
  int bell = -1;  // eventfd
  std::thread thread;
  std::atomic<bool> stop{false};
  // True while the I/O thread's loop runs on a formed connection: a post that finds no queued
  // operation may then write its record itself (post_now).
  std::atomic<bool> streaming{false};
  bool connecting = false;
  // Connection parameters (set by connect, read by the thread).
  bool dialer = false;
  sockaddr_in peer_addr{};
  std::string peer_token;
  std::string peer_name;
  int64_t deadline_ms = 0;
  // Receive state: the header being read, then the payload of the current record.
  WireRecord header{};
  uint64_t header_got = 0;
  bool in_payload = false;
  uint64_t payload_got = 0;
  std::string current_error;  // why the receive being filled (current) fails
  // Expected receives (under mutex), and the one the current record matched (I/O thread only).
  std::vector<Expect> expects;
  std::atomic<uint32_t> expect_count{0};
  bool head_checked = false;  // the current record's head was compared with the expectations
  bool matched = false;
  Expect landing;
  std::vector<uint8_t> bounce;  // folds on arrival: received here, piece by piece
  uint64_t bounce_fill = 0;     // bytes of the current piece in bounce
  uint64_t folded = 0;          // bytes of the landing's region folded so far

  bool connected() const override { return connecting; }
  std::string address() const override {
    char ip[INET_ADDRSTRLEN];
    in_addr a{context->bind_host};
    inet_ntop(AF_INET, &a, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(port) + " " + token;
  }
  void ring() { uint64_t one = 1; ssize_t n = write(bell, &one, sizeof one); (void)n; }
  /** A receive was posted (JS thread): the I/O thread may be waiting for one, unless reading is the JS thread's (which never waits for one: it hands reading over at such a record). */
  void recv_posted() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (js_reads) return;
    }
    ring();
  }
  void run();
  bool form(std::string& why);
  bool accept_peer(std::string& why);
  bool hello(int fd, std::string& why, int64_t until);
  bool pump_out(std::string& why);
  ssize_t write_some(Op& op, std::string& local_why);
  void post_now(Op op);
  void queue_rest(const Op& op);
  bool send_now(const uint8_t* header, uint64_t header_length, const uint8_t* payload, uint64_t payload_length);
  /** Queues a checked send or write, or writes it from here when nothing is queued (post_now). */
  napi_value post(napi_env env, const char* what, const Op& op) {
    bool direct = false;
    if (!post_op(env, what, op, [this] { return streaming.load(std::memory_order_acquire); }, direct)) return nullptr;
    if (direct) post_now(op);
    else ring();
    return nullptr;
  }
  bool pump_in(std::string& why, bool& eof, uint64_t most = UINT64_MAX, bool* stopped = nullptr);
  // The JS thread's reads (see there). `js_reads` and `js_broken` are under mutex.
  uv_loop_t* loop = nullptr;
  uv_poll_t* poller = nullptr;   // JS thread: polls the socket while reading is its
  uv_async_t* resume = nullptr;  // the I/O thread hands reading back through it; null: the I/O thread reads all
  bool js_reads = false;         // the JS thread owns the receive state (header .. bounce)
  bool last_small = true;        // the last record read to its end was one the JS thread would read (receive state)
  bool js_off = false;           // the loop could not poll the socket: reading stays the I/O thread's
  std::string js_broken;         // why a read on the JS thread broke the stream (the I/O thread fails it)
  bool start_resume(napi_env env);
  void on_resume();
  void on_readable();
  void hand_to_io(const std::string& why);
  void close_handles();
  void match_head();
  void fold_piece();
  void shutdown() override;
};

/** Waits for `events` on fd or the doorbell until `until`; false on timeout or stop. */
bool wait_fd(int fd, short events, int bell, int64_t until, std::atomic<bool>& stop) {
  for (;;) {
    if (stop.load()) return false;
    int64_t left = until - now_ms();
    if (left <= 0) return false;
    pollfd fds[2] = {{fd, events, 0}, {bell, POLLIN, 0}};
    int n = poll(fds, 2, (int)std::min<int64_t>(left, 1000));
    if (n > 0 && fds[1].revents) { uint64_t v; ssize_t r = read(bell, &v, sizeof v); (void)r; }
    if (n > 0 && fds[0].revents) return true;
  }
}

/** Sends my hello and checks the peer's: magic, the job's digest, my token (constant time). */
bool Endpoint::hello(int fd, std::string& why, int64_t until) {
  uint8_t out[kHelloBytes], in[kHelloBytes];
  memcpy(out, kMagic, sizeof kMagic);
  memcpy(out + sizeof kMagic, context->digest.data(), kDigestChars);
  memcpy(out + sizeof kMagic + kDigestChars, peer_token.data(), kTokenChars);
  size_t sent = 0, got = 0;
  while (sent < kHelloBytes || got < kHelloBytes) {
    short events = (sent < kHelloBytes ? POLLOUT : 0) | (got < kHelloBytes ? POLLIN : 0);
    if (!wait_fd(fd, events, bell, until, stop)) { why = stop.load() ? "endpoint destroyed" : "no hello in time"; return false; }
    if (sent < kHelloBytes) {
      ssize_t n = send(fd, out + sent, kHelloBytes - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += n;
      else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { why = errno_text("hello send"); return false; }
    }
    if (got < kHelloBytes) {
      // Never more than the hello's bytes before the peer is known.
      ssize_t n = recv(fd, in + got, kHelloBytes - got, MSG_DONTWAIT);
      if (n == 0) { why = "closed during hello"; return false; }
      if (n > 0) got += n;
      else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { why = errno_text("hello recv"); return false; }
    }
  }
  uint8_t expected[kHelloBytes];
  memcpy(expected, kMagic, sizeof kMagic);
  memcpy(expected + sizeof kMagic, context->digest.data(), kDigestChars);
  memcpy(expected + sizeof kMagic + kDigestChars, token.data(), kTokenChars);
  if (!equal_constant_time(in, expected, kHelloBytes)) { why = "wrong hello"; return false; }
  return true;
}

bool Endpoint::accept_peer(std::string& why) {
  while (now_ms() < deadline_ms) {
    if (!wait_fd(listener, POLLIN, bell, deadline_ms, stop)) break;
    int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::string stranger;
    // A stranger gets kStrangerMs to prove itself; one that fails is dropped and we keep listening.
    if (hello(fd, stranger, std::min(deadline_ms, now_ms() + kStrangerMs))) {
      sock = fd;
      return true;
    }
    close(fd);
    if (stop.load()) break;
  }
  why = stop.load() ? "endpoint destroyed" : "peer " + peer_name + " did not connect in time";
  return false;
}

bool Endpoint::form(std::string& why) {
  if (!dialer) {
    bool ok = accept_peer(why);
    close(listener);
    listener = -1;
    return ok;
  }
  close(listener);  // the dialer never accepts: no open port for strangers
  listener = -1;
  // Retry refused dials until the deadline: the peer may not have created its listener yet... it
  // has (its blob names the port), but a busy host can still refuse under a full backlog.
  while (!stop.load() && now_ms() < deadline_ms) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { why = errno_text("socket"); return false; }
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&peer_addr), sizeof peer_addr);
    if (rc < 0 && errno != EINPROGRESS) { close(fd); usleep(50000); continue; }
    if (rc < 0) {
      int err = 0;
      socklen_t len = sizeof err;
      if (!wait_fd(fd, POLLOUT, bell, deadline_ms, stop) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        close(fd);
        usleep(50000);
        continue;
      }
    }
    std::string failed;
    if (hello(fd, failed, deadline_ms)) { sock = fd; return true; }
    close(fd);
    why = "peer " + peer_name + ": " + failed;
    return false;
  }
  why = stop.load() ? "endpoint destroyed" : "could not reach peer " + peer_name + " in time";
  return false;
}

/**
 * Puts as much of `op` (record header, inline bytes, a chunk of its region) on the wire as the
 * socket takes now, in one sendmsg; op.sent grows by what went. -1 with errno from the socket,
 * or local_why set when its region is gone.
 */
ssize_t Endpoint::write_some(Op& op, std::string& local_why) {
  WireRecord record{op.write ? kWrite : kSend, op.has_imm ? kImm : 0u, op.imm, 0, op.inline_length + op.length, op.remote_key, op.remote_offset};
  uint64_t head = sizeof record + op.inline_length;  // record header and inline bytes
  iovec iov[3];
  int count = 0;
  if (op.sent < sizeof record) iov[count++] = {reinterpret_cast<uint8_t*>(&record) + op.sent, sizeof record - op.sent};
  if (op.sent < head && op.inline_length > 0) {
    uint64_t from = op.sent > sizeof record ? op.sent - sizeof record : 0;
    iov[count++] = {op.inline_data + from, op.inline_length - from};
  }
  uint64_t done = op.sent > head ? op.sent - head : 0;
  uint64_t chunk = std::min(op.length - done, kMaxChunk);
  const uint8_t* source = chunk == 0 ? nullptr : op.payload() ? op.payload() + done : context->hold(op.key, op.offset + done, chunk, local_why);
  if (!local_why.empty()) return 0;
  if (source) iov[count++] = {const_cast<uint8_t*>(source), chunk};
  msghdr message{};
  message.msg_iov = iov;
  message.msg_iovlen = count;
  ssize_t n = sendmsg(sock, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
  int saved = errno;
  if (source && !op.payload()) context->release(op.key);
  errno = saved;
  if (n > 0) op.sent += n;
  return n;
}

/** Writes queued operations while the socket takes them. */
bool Endpoint::pump_out(std::string& why) {
  for (;;) {
    Op* op;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (ops.empty()) return true;
      op = &ops.front();  // only this thread pops; JS pushes to the back
    }
    std::string local_why;
    ssize_t n = write_some(*op, local_why);
    if (!local_why.empty()) {
      Op failed = *op;
      { std::lock_guard<std::mutex> lock(mutex); ops.pop_front(); }
      context->complete(new Completion{failed.wr_id, "local " + local_why, failed.opcode(), 0, 0, false});
      // Part of it is on the wire: the stream cannot be resynchronized, the endpoint breaks.
      if (failed.sent > 0) { why = "local region deregistered during a send"; return false; }
      continue;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
      why = "peer " + peer_name + " died (" + errno_text("send") + ")";
      return false;
    }
    if (op->sent == op->total()) {
      Op done = *op;
      { std::lock_guard<std::mutex> lock(mutex); ops.pop_front(); }
      context->complete(new Completion{done.wr_id, "", done.opcode(), (double)(done.inline_length + done.length), 0, false});
    }
  }
}

/**
 * A post that found the queue empty on a formed connection (JS thread): the record goes out
 * from here, without waking the I/O thread, when the socket takes all of it. Only queued
 * operations are the I/O thread's to write, and only the JS thread queues them, so nothing else
 * writes meanwhile. What the socket does not take, or an error, goes to the queue as it stands
 * and the I/O thread carries on from there (or reports the failure).
 */
void Endpoint::post_now(Op op) {
  std::string local_why;
  write_some(op, local_why);
  if (local_why.empty() && op.sent == op.total()) {
    context->complete(new Completion{op.wr_id, "", op.opcode(), (double)(op.inline_length + op.length), 0, false});
    return;
  }
  queue_rest(op);
}

/** JS thread: what the socket did not take of a record written from here (or its error) goes to the I/O thread, first in its queue. */
void Endpoint::queue_rest(const Op& op) {
  std::string failed;
  {
    std::lock_guard<std::mutex> lock(mutex);
    // The I/O thread may have failed the queue since the post looked: then fail this one too.
    failed = !broken.empty() ? broken : peer_gone;
    if (failed.empty()) ops.push_back(op);
  }
  if (!failed.empty()) context->complete(new Completion{op.wr_id, failed, op.opcode(), 0, 0, false});
  else ring();
}

/**
 * Reads records as far as posted receives allow; false (with why) when the stream is broken.
 * With `stopped`, stops (and sets it) at a record whose payload exceeds `most`, its header read.
 * Only the thread that owns the receive state calls it (the I/O thread, or the JS thread while
 * `js_reads`).
 */
bool Endpoint::pump_in(std::string& why, bool& eof, uint64_t most, bool* stopped) {
  uint8_t discard[64 << 10];
  for (;;) {
    if (!in_payload) {
      if (header_got < sizeof header) {
        ssize_t n = recv(sock, reinterpret_cast<uint8_t*>(&header) + header_got, sizeof header - header_got, MSG_DONTWAIT);
        if (n == 0) { eof = true; return true; }
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
          why = "peer " + peer_name + " died (" + errno_text("recv") + ")";
          return false;
        }
        header_got += n;
        if (header_got < sizeof header) continue;
      }
      if (header.type == kGoodbye) {
        std::lock_guard<std::mutex> lock(mutex);
        if (peer_gone.empty()) peer_gone = "peer " + peer_name + " closed the endpoint";
        eof = true;
        return true;
      }
      if ((header.type != kSend && header.type != kWrite) || (header.flags & ~kImm) != 0 || header.reserved != 0) {
        why = "malformed record from peer " + peer_name;
        return false;
      }
      if (stopped && header.length > most) { *stopped = true; return true; }
      bool needs_recv = header.type == kSend || (header.flags & kImm);
      current_error.clear();
      if (needs_recv) {
        std::lock_guard<std::mutex> lock(mutex);
        if (recvs.empty()) return true;  // receiver not ready: stop reading, TCP's window pushes back
        current = recvs.front();
        recvs.pop_front();
        receiving = true;
      }
      if (header.type == kSend && header.length > current.length) {
        current_error = "message of " + std::to_string(header.length) + " bytes exceeds the posted receive of " + std::to_string(current.length) + " bytes";
      }
      in_payload = true;
      payload_got = 0;
      head_checked = matched = false;
      bounce_fill = folded = 0;
    }
    while (payload_got < header.length) {
      uint64_t chunk = std::min(header.length - payload_got, kMaxChunk);
      // A message that may be expected: its head alone first, to compare before the rest lands.
      bool may_match = header.type == kSend && !head_checked && payload_got < kHeadBytes && header.length > kHeadBytes && expect_count.load(std::memory_order_acquire) > 0;
      if (may_match) chunk = std::min<uint64_t>(chunk, kHeadBytes - payload_got);
      bool to_landing = matched && payload_got >= kHeadBytes;
      ssize_t n;
      {
        uint64_t key = to_landing ? landing.key : header.type == kSend ? current.key : header.key;
        uint8_t* target = nullptr;
        bool held = false;
        if (current_error.empty() && to_landing && landing.folds) {
          target = bounce.data() + bounce_fill;  // ours: nothing to hold
          chunk = std::min(chunk, kFoldPiece - bounce_fill);
        } else if (current_error.empty()) {
          std::string failed;
          target = to_landing ? context->hold(key, landing.offset + payload_got - kHeadBytes, chunk, failed)
                   : header.type == kSend ? context->hold(key, current.offset + payload_got, chunk, failed)
                                          : context->hold(key, header.offset + payload_got, chunk, failed);
          if (!target) current_error = to_landing ? "expected receive " + std::to_string(landing.id) + " was cancelled: " + failed
                                       : header.type == kSend ? failed : "remote write: " + failed;
          held = target != nullptr;
        }
        if (!target) { target = discard; chunk = std::min<uint64_t>(chunk, sizeof discard); }
        n = recv(sock, target, chunk, MSG_DONTWAIT);
        int saved = errno;
        if (held) context->release(key);
        errno = saved;
      }
      if (n == 0) { eof = true; return true; }
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
        why = "peer " + peer_name + " died (" + errno_text("recv") + ")";
        return false;
      }
      payload_got += n;
      if (to_landing && landing.folds && current_error.empty()) {
        bounce_fill += n;
        if (bounce_fill == kFoldPiece || payload_got == header.length) fold_piece();
      }
      if (may_match && payload_got == kHeadBytes) match_head();
    }
    bool needs_recv = header.type == kSend || (header.flags & kImm);
    if (needs_recv) {
      Recv done = current;
      { std::lock_guard<std::mutex> lock(mutex); receiving = false; }
      // A matched message says which expectation it filled (its id as the immediate).
      if (header.type == kSend) completed(new Completion{done.wr_id, current_error, "recv", (double)header.length, landing.id, matched});
      else completed(new Completion{done.wr_id, current_error, "write-imm", (double)header.length, header.imm, true});
    }
    in_payload = false;
    header_got = 0;
    count(stopped ? counters.js_records : counters.io_records);
    last_small = header.length <= kJsRecordBytes;
  }
}

/**
 * The current message's first kHeadBytes are in its receive: if an expectation has exactly that
 * head and the rest's length, it is taken off the list (cancelExpect can no longer withdraw it)
 * and the rest of the payload goes to its region.
 */
void Endpoint::match_head() {
  head_checked = true;
  if (!current_error.empty()) return;
  std::string failed;
  uint8_t* head = context->hold(current.key, current.offset, kHeadBytes, failed);
  if (!head) return;  // the next hold of the receive's bytes reports it
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto it = expects.begin(); it != expects.end(); ++it) {
      if (it->length != header.length - kHeadBytes || memcmp(it->head, head, kHeadBytes) != 0) continue;
      landing = *it;
      matched = true;
      expects.erase(it);
      expect_count.store((uint32_t)expects.size(), std::memory_order_release);
      break;
    }
  }
  context->release(current.key);
  if (matched && landing.folds && bounce.empty()) bounce.resize(kFoldPiece);
}

/** Folds the bytes in bounce into the landing's region (dst = dst op bounce), after them the next piece. */
void Endpoint::fold_piece() {
  std::string failed;
  uint8_t* into = context->hold(landing.key, landing.offset + folded, bounce_fill, failed);
  if (!into) {
    current_error = "expected receive " + std::to_string(landing.id) + " was cancelled: " + failed;
    return;
  }
  reduce_accumulate(landing.dtype, landing.op, into, bounce.data(), bounce_fill / element_bytes(landing.dtype));
  context->release(landing.key);
  folded += bounce_fill;
  bounce_fill = 0;
}

void Endpoint::run() {
  std::string why;
  if (!form(why)) { fail_all(why); return; }
  int one = 1;
  setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  streaming.store(true, std::memory_order_release);
  int epoll = epoll_create1(EPOLL_CLOEXEC);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = bell;
  epoll_ctl(epoll, EPOLL_CTL_ADD, bell, &event);
  bool eof = false, hung_up = false, registered = false;
  uint32_t armed = 0;  // the socket's events as last given to epoll_ctl
  while (!stop.load(std::memory_order_acquire)) {
    bool reading;  // the receive state is this thread's (not the JS thread's)
    {
      std::lock_guard<std::mutex> lock(mutex);
      reading = !js_reads;
      why = js_broken;
    }
    if (!why.empty() || !pump_out(why) || (reading && !pump_in(why, eof))) break;
    if (eof) {
      // Like the shm provider: what arrived before the FIN has been delivered; the rest fails.
      std::string gone;
      { std::lock_guard<std::mutex> lock(mutex); gone = peer_gone; }
      why = gone.empty() ? "peer " + peer_name + " died (connection lost)" : gone;
      break;
    }
    bool want_out, want_in, handed = false;
    {
      std::lock_guard<std::mutex> lock(mutex);
      // Nothing of a record is read, the socket is drained and the last record was a small one:
      // reading goes back to the JS thread. After a larger record it stays here, where the next
      // larger one would otherwise cost two more wakeups (the JS thread's, to hand it back).
      if (reading && resume && !js_off && !hung_up && last_small && header_got == 0 && !in_payload) js_reads = true, reading = false, handed = true;
      want_out = !ops.empty();
      want_in = reading && (in_payload || header_got < sizeof header || !recvs.empty());
    }
    if (handed) {
      count(counters.hand_backs);
      uv_async_send(resume);
    }
    // After a hang-up seen while no receive is posted, only the doorbell (a post) can help:
    // the socket leaves the set, or its level-triggered hang-up would spin this loop.
    if (hung_up && !want_in) {
      if (registered) epoll_ctl(epoll, EPOLL_CTL_DEL, sock, nullptr);
      registered = false;
    } else {
      uint32_t events = (want_out ? (uint32_t)EPOLLOUT : 0u) | (want_in ? (uint32_t)EPOLLIN : 0u) | (reading ? (uint32_t)EPOLLRDHUP : 0u);
      // One system call less per wake-up when the interest is what it was (the common case).
      if (!registered || events != armed) {
        event.events = events;
        event.data.fd = sock;
        epoll_ctl(epoll, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, sock, &event);
        armed = events;
      }
      registered = true;
    }
    epoll_event ready[2];
    int n = epoll_wait(epoll, ready, 2, 1000);
    for (int i = 0; i < n; i++) {
      if (ready[i].data.fd == bell) { uint64_t v; ssize_t r = read(bell, &v, sizeof v); (void)r; }
      // A hang-up while no receive is posted: fail the sends now, deliver what is buffered later.
      if (ready[i].data.fd == sock && (ready[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !want_in) {
        hung_up = true;
        fail_ops("peer " + peer_name + " died (connection lost)");
      }
    }
  }
  { std::lock_guard<std::mutex> lock(mutex); streaming.store(false, std::memory_order_release); }
  close(epoll);
  if (!stop.load()) {
    fail_ops(why);
    fail_all(why);
  }
}

void Endpoint::shutdown() {
  if (destroyed) return;
  destroyed = true;
  if (thread.joinable()) {
    stop.store(true, std::memory_order_release);
    ring();
    thread.join();
  }
  close_handles();  // before the socket closes: the loop must not poll a closed descriptor
  if (sock >= 0) {
    // A goodbye record, best effort, so that the peer reports a clean close rather than a death.
    WireRecord goodbye{kGoodbye, 0, 0, 0, 0, 0, 0};
    bool idle;  // not in the middle of a record of ours
    { std::lock_guard<std::mutex> lock(mutex); idle = ops.empty() || ops.front().sent == 0; }
    if (idle) { ssize_t n = send(sock, &goodbye, sizeof goodbye, MSG_NOSIGNAL | MSG_DONTWAIT); (void)n; }
    close(sock);
  }
  if (listener >= 0) close(listener);
  sock = listener = -1;
  fail_all("endpoint destroyed");
  if (bell >= 0) close(bell);
  bell = -1;
}

/**
 * The small send (JS thread), as the shm provider's: header ‖ payload as one message (the header
 * at most kMaxInline bytes, the whole at most kJsRecordBytes), written from here as post_now
 * writes, when nothing is queued and the connection is formed; true when it went (the caller
 * may reuse its bytes at once, and no completion follows). Should the socket take only part of
 * it, the rest is copied and queued first (the I/O thread writes it; its completion has no
 * waiter). false: nothing was written (a larger message, posts queued, a full socket, a broken
 * endpoint): post it instead, which reports what is wrong.
 */
bool Endpoint::send_now(const uint8_t* header, uint64_t header_length, const uint8_t* payload, uint64_t payload_length) {
  if (header_length > kMaxInline || header_length + payload_length > kJsRecordBytes) return false;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!broken.empty() || !peer_gone.empty() || !ops.empty() || !streaming.load(std::memory_order_acquire)) return false;
  }
  // The header as inline bytes, the payload from the caller's memory: the record post_now writes.
  Op op;
  op.wr_id = -1;  // no waiter: the caller is told it went
  op.inline_length = (uint32_t)header_length;
  memcpy(op.inline_data, header, header_length);
  op.borrowed = payload;
  op.length = payload_length;
  std::string unused;  // a borrowed payload needs no region
  write_some(op, unused);
  if (op.sent == op.total()) return true;
  if (op.sent == 0) return false;
  count(counters.split_sends);
  op.owned = std::make_shared<std::vector<uint8_t>>(payload, payload + payload_length);
  op.borrowed = nullptr;
  queue_rest(op);
  return true;
}

// ---- the JS thread's reads (issue 10: 8-byte latency) ----------------------------------------
//
// A message read by the I/O thread costs two wakeups: the socket wakes the I/O thread, and its
// completion wakes the JS thread through the completion queue (2 ntcp ranks' 8-byte allreduce
// 100-116 us against Node's sockets' 35-53, about six context switches a call against one).
// So while the I/O thread has nothing of a record in hand, reading is the JS thread's: its event
// loop polls the socket (uv_poll) and reads records of up to kJsRecordBytes with the same
// pump_in, straight into the posted receives; the socket then wakes only the thread that takes
// the message. It hands reading to the I/O thread (and rings it) at a larger record, a record
// whose receive is not posted yet, the end of the stream or an error; the I/O thread hands it
// back (through `resume`) once it has read a small record to its end and the socket is drained
// (after a larger record it keeps reading, see run()). One
// owner at a time, the hand-over under the endpoint's mutex, so the receive state (header ..
// bounce) is never read by one thread while the other writes it. Completions still go through
// the completion queue, so they reach JS in the order the records came, whoever read them.
// WEBCCL_NTCP_JS_READS=0 leaves all reading to the I/O thread.

/** connect (JS thread): the handle the I/O thread hands reading back through; false leaves all reading to the I/O thread. */
bool Endpoint::start_resume(napi_env env) {
  const char* setting = getenv("WEBCCL_NTCP_JS_READS");
  if (setting && strcmp(setting, "0") == 0) return false;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) return false;
  resume = new uv_async_t;
  if (uv_async_init(loop, resume, [](uv_async_t* handle) { static_cast<Endpoint*>(handle->data)->on_resume(); }) != 0) {
    delete resume;
    resume = nullptr;
    return false;
  }
  resume->data = this;
  // The completion queue keeps the loop alive while the context lives; this adds nothing.
  uv_unref(reinterpret_cast<uv_handle_t*>(resume));
  return true;
}

/** JS thread: reading was handed back; poll the socket (made on the first hand-back, once the connection is formed). */
void Endpoint::on_resume() {
  if (destroyed) return;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!js_reads) return;
  }
  if (!poller) {
    poller = new uv_poll_t;
    if (uv_poll_init(loop, poller, sock) != 0) {
      delete poller;
      poller = nullptr;
      { std::lock_guard<std::mutex> lock(mutex); js_off = true; }  // before the hand-over: never handed back
      hand_to_io("");
      return;
    }
    poller->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(poller));
  }
  uv_poll_start(poller, UV_READABLE, [](uv_poll_t* handle, int, int) { static_cast<Endpoint*>(handle->data)->on_readable(); });
}

/** The socket is readable (JS thread): reads the small records there are, or hands reading to the I/O thread. */
void Endpoint::on_readable() {
  if (destroyed) return;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!js_reads) return;
  }
  std::string why;
  bool eof = false, stopped = false;
  std::vector<Completion*> batch;
  direct = &batch;
  bool ok = pump_in(why, eof, kJsRecordBytes, &stopped);
  direct = nullptr;
  // A header read whose payload is not begun: a larger record (stopped), or one whose receive is not posted.
  bool waiting = header_got == sizeof header && !in_payload;
  bool hand_over = !ok || eof || waiting;
  // The batch bypasses the queue only when nothing can come through the queue before it that
  // should come after, or the other way round. So it goes through the queue when something is
  // queued already (a completion the I/O thread queued for an earlier record, before it handed
  // reading back, comes first), and when reading is handed over now: the I/O thread's next
  // records' completions, queued from now on, might otherwise be delivered in this turn's poll
  // phase (the loop's async handles share one eventfd, which may be due already) before the
  // batch's check phase. Queued before the hand-over, the batch is ahead of them.
  if (!batch.empty() && (hand_over || context->queued.load(std::memory_order_acquire) != 0)) {
    for (Completion* completion : batch) context->complete(completion);
    batch.clear();
  }
  if (hand_over) hand_to_io(ok ? "" : why);  // a failure it reports comes through the queue, after the batch
  if (batch.empty()) return;
  counters.js_delivered.fetch_add(batch.size(), std::memory_order_relaxed);
  if (!context->deliver_ready_later(batch, loop)) context->deliver_now(batch, [] {});  // last: a callback may destroy this endpoint
}

/**
 * Queues `batch` for the check phase of this turn of the loop (JS thread); false, keeping it,
 * when the check handle cannot be made. Reading stays the JS thread's until a later turn's
 * on_readable hands it over, so the next records' completions come after these.
 */
bool Context::deliver_ready_later(std::vector<Completion*>& batch, uv_loop_t* loop) {
  if (!deliverer) {
    auto* check = new uv_check_t;
    if (uv_check_init(loop, check) != 0) {
      delete check;
      return false;
    }
    check->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(check));  // this turn's check phase comes whether or not it keeps the loop alive
    deliverer = check;
  }
  ready.insert(ready.end(), batch.begin(), batch.end());
  batch.clear();
  uv_check_start(deliverer, [](uv_check_t* handle) {
    auto* context = static_cast<Context*>(handle->data);
    uv_check_stop(handle);
    std::vector<Completion*> batch;
    batch.swap(context->ready);
    context->deliver_now(batch, [] {});
  });
  return true;
}

/** JS thread: the receive state goes to the I/O thread (with why, the stream is broken and it fails it). */
void Endpoint::hand_to_io(const std::string& why) {
  count(counters.hand_overs);
  {
    std::lock_guard<std::mutex> lock(mutex);
    js_reads = false;
    if (!why.empty() && js_broken.empty()) js_broken = why;
  }
  if (poller) uv_poll_stop(poller);
  ring();
}

/** JS thread, after the I/O thread has stopped: closes the poll and the hand-back handle (freed on the loop's next turn). */
void Endpoint::close_handles() {
  if (poller) {
    uv_poll_stop(poller);
    uv_close(reinterpret_cast<uv_handle_t*>(poller), [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
    poller = nullptr;
  }
  if (resume) {
    uv_close(reinterpret_cast<uv_handle_t*>(resume), [](uv_handle_t* handle) { delete reinterpret_cast<uv_async_t*>(handle); });
    resume = nullptr;
  }
}

// ---- JS surface ---------------------------------------------------------------------------

napi_ref endpoint_constructor = nullptr;

/** new TcpContext(digest, onCompletion, bindHost?) — digest: 48 hex characters of the job secret's hash. */
napi_value ContextNew(napi_env env, napi_callback_info info) {
  Args args;
  std::string digest, host = "127.0.0.1";
  if (!get_args(env, info, args, 2, "new TcpContext(digest, onCompletion, host?)") || !get_string(env, args.values[0], digest, "digest")) return nullptr;
  if (digest.size() != kDigestChars || !std::all_of(digest.begin(), digest.end(), [](char c) { return isxdigit((unsigned char)c); })) {
    return fail(env, "digest must hold 48 hex characters"), nullptr;
  }
  napi_valuetype host_type = napi_undefined;
  if (args.count > 2) napi_typeof(env, args.values[2], &host_type);
  if (host_type != napi_undefined && !get_string(env, args.values[2], host, "host")) return nullptr;
  in_addr address{};
  if (inet_pton(AF_INET, host.c_str(), &address) != 1) return fail(env, "host must be an IPv4 address, got " + host), nullptr;
  auto* context = new Context();
  context->digest = digest;
  context->bind_host = address.s_addr;
  if (!wrap_context(env, args.self, args.values[1], context, "webccl-tcp-completions")) return nullptr;
  return args.self;
}

std::string random_token() {
  std::random_device device;
  static const char hex[] = "0123456789abcdef";
  std::string token(kTokenChars, '0');
  for (char& c : token) c = hex[device() & 15];
  return token;
}

/** createEndpoint(label): a listener on the context's host (port chosen by the kernel). */
napi_value ContextCreateEndpoint(napi_env env, napi_callback_info info) {
  std::string label;
  Context* context = creating_endpoint<Context>(env, info, label);
  if (!context) return nullptr;
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = context->bind_host;
  socklen_t length = sizeof address;
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(listener, 16) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::string why = errno_text("createEndpoint: listen");
    if (listener >= 0) close(listener);
    return fail(env, why), nullptr;
  }
  int bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (bell < 0) { close(listener); return fail(env, errno_text("createEndpoint: eventfd")), nullptr; }
  auto* endpoint = new Endpoint();
  endpoint->context = context;
  endpoint->label = label;
  endpoint->token = random_token();
  endpoint->listener = listener;
  endpoint->port = ntohs(address.sin_port);
  endpoint->bell = bell;
  return wrap_endpoint(env, endpoint_constructor, context, endpoint);
}

/** connect(address, timeoutMs?): forms the connection on the I/O thread; posts queue meanwhile. */
napi_value EndpointConnect(napi_env env, napi_callback_info info) {
  Args args;
  std::string blob;
  Endpoint* endpoint = connecting_endpoint<Endpoint>(env, info, "connect(address, timeoutMs?)", args, blob);
  if (!endpoint) return nullptr;
  uint64_t timeout = 30000;
  napi_valuetype type = napi_undefined;
  if (args.count > 1) napi_typeof(env, args.values[1], &type);
  if (type != napi_undefined && (!get_index(env, args.values[1], timeout, "timeoutMs") || timeout < 1 || timeout > 3600000)) {
    return fail(env, "timeoutMs must be an integer in 1 .. 3600000"), nullptr;
  }
  if (endpoint->connecting) return fail(env, "connect: already connected"), nullptr;
  size_t colon = blob.find(':'), space = blob.find(' ');
  if (colon == std::string::npos || space == std::string::npos || colon > space || blob.size() - space - 1 != kTokenChars) {
    return fail(env, "connect: malformed address"), nullptr;
  }
  std::string ip = blob.substr(0, colon), port_text = blob.substr(colon + 1, space - colon - 1), token = blob.substr(space + 1);
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  char* end = nullptr;
  unsigned long port = strtoul(port_text.c_str(), &end, 10);
  if (inet_pton(AF_INET, ip.c_str(), &peer.sin_addr) != 1 || port_text.empty() || *end != 0 || port < 1 || port > 65535 ||
      !std::all_of(token.begin(), token.end(), [](char c) { return isxdigit((unsigned char)c); })) {
    return fail(env, "connect: malformed address"), nullptr;
  }
  std::string mine = endpoint->address();
  if (blob == mine) return fail(env, "connect: an endpoint cannot connect to itself"), nullptr;
  peer.sin_port = htons((uint16_t)port);
  endpoint->peer_addr = peer;
  endpoint->peer_token = token;
  endpoint->peer_name = ip + ":" + port_text;
  endpoint->dialer = blob > mine;  // exactly one side dials: the one whose own blob sorts first
  endpoint->deadline_ms = now_ms() + (int64_t)timeout;
  endpoint->connecting = true;
  endpoint->start_resume(env);
  endpoint->thread = std::thread([endpoint] { endpoint->run(); });
  return nullptr;
}

/** postSend(wrId, key, offset, length, inline?): `inline` (at most kMaxInline bytes) goes before the region's bytes. */
napi_value EndpointPostSend(napi_env env, napi_callback_info info) {
  Args args;
  Op op;
  Endpoint* endpoint = posted_on<Endpoint>(env, info, PostKind::kSend, "postSend(wrId, key, offset, length, inline?)", args, op);
  if (!endpoint) return nullptr;
  napi_valuetype inline_type = napi_undefined;
  if (args.count > 4) napi_typeof(env, args.values[4], &inline_type);
  if (inline_type != napi_undefined) {
    uint8_t* bytes = nullptr;
    size_t inline_length = 0;
    if (!get_bytes(env, args.values[4], bytes, inline_length, "inline")) return nullptr;
    if (inline_length > kMaxInline) return fail(env, "postSend: inline holds " + std::to_string(inline_length) + " bytes, at most " + std::to_string(kMaxInline)), nullptr;
    memcpy(op.inline_data, bytes, inline_length);
    op.inline_length = (uint32_t)inline_length;
  }
  return endpoint->post(env, "postSend", op);
}

/**
 * postWrite(wrId, key, offset, length, remoteKey, remoteOffset, imm?). The peer's regions are
 * not published over TCP, so the remote key and bounds are checked by the target before it
 * writes; a bad one fails the immediate's receive there (and breaks nothing else).
 */
napi_value EndpointPostWrite(napi_env env, napi_callback_info info) {
  Args args;
  Op op;
  Endpoint* endpoint = posted_on<Endpoint>(env, info, PostKind::kWrite, "postWrite(wrId, key, offset, length, remoteKey, remoteOffset, imm?)", args, op);
  return endpoint ? endpoint->post(env, "postWrite", op) : nullptr;
}

/**
 * postExpect(id, head, key, offset, length, dtype?, op?): the next message whose first 56 bytes
 * are `head` and whose remaining length is `length` puts those bytes into [offset, offset +
 * length) of `key` instead of its receive (which then holds the head alone), folded with
 * dtype/op when given (avg folds as sum). Its receive's completion carries `id` as imm.
 */
napi_value EndpointPostExpect(napi_env env, napi_callback_info info) {
  Args args;
  const char* usage = "postExpect(id, head, key, offset, length, dtype?, op?)";
  if (!get_args(env, info, args, 5, usage)) return nullptr;
  Endpoint* endpoint = live_endpoint<Endpoint>(env, args.self, "postExpect");
  if (!endpoint) return nullptr;
  Expect expect;
  uint64_t id;
  uint8_t* head;
  size_t head_length;
  if (!get_index(env, args.values[0], id, "id") || !get_bytes(env, args.values[1], head, head_length, "head") ||
      !get_index(env, args.values[2], expect.key, "key") || !get_index(env, args.values[3], expect.offset, "offset") ||
      !get_index(env, args.values[4], expect.length, "length")) {
    return nullptr;
  }
  if (id == 0 || id > 0xffffffffu) return fail(env, "postExpect: id must be an integer in 1 .. 2^32 - 1"), nullptr;
  if (head_length != kHeadBytes) return fail(env, "postExpect: head holds " + std::to_string(head_length) + " bytes, not " + std::to_string(kHeadBytes)), nullptr;
  if (expect.length == 0) return fail(env, "postExpect: length must be at least 1"), nullptr;
  napi_valuetype type = napi_undefined;
  if (args.count > 5) napi_typeof(env, args.values[5], &type);
  if (type != napi_undefined) {
    if (args.count < 7 || !parse_dtype(env, args.values[5], expect.dtype) || !parse_op(env, args.values[6], expect.op)) {
      return args.count < 7 ? (fail(env, "postExpect: a dtype needs an op"), nullptr) : nullptr;
    }
    if (expect.length % element_bytes(expect.dtype) != 0) {
      return fail(env, "postExpect: " + std::to_string(expect.length) + " bytes is not a whole number of " + std::to_string(element_bytes(expect.dtype)) + "-byte elements"), nullptr;
    }
    expect.folds = true;
  }
  {
    std::string why;
    std::lock_guard<std::mutex> lock(endpoint->context->mutex);
    if (!endpoint->context->locate(expect.key, expect.offset, expect.length, why)) return fail(env, "postExpect: " + why), nullptr;
  }
  expect.id = (uint32_t)id;
  memcpy(expect.head, head, kHeadBytes);
  std::lock_guard<std::mutex> lock(endpoint->mutex);
  if (endpoint->expects.size() >= kMaxExpects) return fail(env, "postExpect: " + std::to_string(kMaxExpects) + " expected receives are listed already"), nullptr;
  for (const Expect& other : endpoint->expects) {
    if (other.id == expect.id) return fail(env, "postExpect: id " + std::to_string(id) + " is listed already"), nullptr;
  }
  endpoint->expects.push_back(expect);
  endpoint->expect_count.store((uint32_t)endpoint->expects.size(), std::memory_order_release);
  return nullptr;
}

/**
 * cancelExpect(id): true when the expectation was still listed (nothing will land in its
 * region); false when a message matched it already (or it never was): that message's bytes go
 * to the region until it is deregistered, after which the message's receive fails.
 */
napi_value EndpointCancelExpect(napi_env env, napi_callback_info info) {
  Args args;
  uint64_t id;
  if (!get_args(env, info, args, 1, "cancelExpect(id)") || !get_index(env, args.values[0], id, "id")) return nullptr;
  Endpoint* endpoint = unwrap<Endpoint>(env, args.self, "cancelExpect");
  if (!endpoint) return nullptr;
  bool found = false;
  {
    std::lock_guard<std::mutex> lock(endpoint->mutex);
    auto it = std::find_if(endpoint->expects.begin(), endpoint->expects.end(), [id](const Expect& e) { return e.id == id; });
    if (it != endpoint->expects.end()) {
      endpoint->expects.erase(it);
      endpoint->expect_count.store((uint32_t)endpoint->expects.size(), std::memory_order_release);
      found = true;
    }
  }
  napi_value result;
  napi_get_boolean(env, found, &result);
  return result;
}

/** tcpCounters() → { jsRecords, ioRecords, handOvers, handBacks, splitSends }: this process's counts so far (Counters). */
napi_value TcpCounters(napi_env env, napi_callback_info) {
  return counters_object(env, {{"jsRecords", &counters.js_records}, {"ioRecords", &counters.io_records},
                               {"handOvers", &counters.hand_overs}, {"handBacks", &counters.hand_backs},
                               {"splitSends", &counters.split_sends}, {"jsDelivered", &counters.js_delivered}});
}

}  // namespace

napi_value init_tcp(napi_env env, napi_value exports) {
  napi_value counts;
  napi_create_function(env, "tcpCounters", NAPI_AUTO_LENGTH, TcpCounters, nullptr, &counts);
  napi_set_named_property(env, exports, "tcpCounters", counts);
  define_provider(env, exports,
                  {"TcpContext", ContextNew, ContextCreateEndpoint, "TcpEndpoint", EndpointConnect, EndpointPostSend,
                   post_receive<Endpoint>, EndpointPostWrite, {},
                   {{"postExpect", EndpointPostExpect}, {"cancelExpect", EndpointCancelExpect}, {"sendNow", send_now_call<Endpoint>}}},
                  endpoint_constructor);
  return exports;
}

}  // namespace webccl
