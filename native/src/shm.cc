// The shm provider of the RDMA-semantics API: ranks on one host. Modelled on ibverbs:
//   ShmContext      ~ ibv_context + protection domain: registers memory regions (MR) and owns
//                     the completion callback (the CQ, delivered through a threadsafe function);
//   ShmEndpoint     ~ a reliable-connected QP between two ranks, formed from exchanged address
//                     blobs; postSend/postRecv (two-sided) and postWrite (one-sided RDMA write,
//                     optionally with immediate, which consumes a posted receive at the target).
// The JS thread reads its inbox itself: the peer writes an eventfd that this process's event
// loop polls (uv_poll) when the reader said it is waiting, so a message costs one wakeup of the
// receiving thread and no thread handoff ("the JS thread's doorbell" below). Each endpoint also
// has one progress thread that sleeps on a futex doorbell in its inbox segment (no busy
// polling, in native code or in JS) and wakes for: ring space freed by the peer after this side
// found it full (it pushes what was queued), a post that could not be done on the JS thread, a
// peer that could not take a copy of the eventfd (it rings the futex and this thread writes the
// eventfd), destroy, or a 50 ms tick that checks the peer's pidfd.
// Every argument is validated on the JS thread and throws an Error (ERR_WEBCCL_NATIVE); the
// progress thread revalidates what can change (keys, bounds) before it touches memory.
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cross-memory.h"
#include "napi-util.h"
#include "provider-common.h"
#include "shm-segment.h"

namespace webccl {
namespace {

constexpr uint32_t kDefaultCapacity = 4u << 20;
constexpr uint64_t kMaxFragment = 1u << 20;

// Process-wide counts of the doorbell's syscalls and of drains before sleeping (shmCounters()):
// what a change to the doorbell costs, independent of how busy the machine is.
struct Counters {
  std::atomic<uint64_t> peer_eventfd{0};  // eventfd writes that woke a peer's JS thread
  std::atomic<uint64_t> self_eventfd{0};  // eventfd writes to this process's own loop
  std::atomic<uint64_t> futex_wakes{0};   // FUTEX_WAKE calls (progress threads, futex-only doorbells)
  std::atomic<uint64_t> prepare_drains{0};  // inboxes drained just before the loop would have slept
} counters;

void count(std::atomic<uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

void ring_bell(std::atomic<uint32_t>* bell) {
  count(counters.futex_wakes);
  bell->fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(bell), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

void wait_bell(std::atomic<uint32_t>* bell, uint32_t seen, long nanoseconds) {
  timespec timeout{0, nanoseconds};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(bell), FUTEX_WAIT, seen, &timeout, nullptr, 0);
}

bool process_alive(int pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

std::string errno_text(const char* what) { return std::string(what) + ": " + strerror(errno); }

// ---- memory regions -------------------------------------------------------------------------

struct Context : ContextBase {
  using Base = ContextBase;
  std::string prefix;
  // Receive completions are delivered on the JS thread by the endpoints' uv_poll callbacks (deliver_now).
  int64_t spin_ns = 0;  // WEBCCL_SHM_SPIN_US (spin_for_data)
  // WEBCCL_SHM_BELL (see "when the doorbell rings" below): eager = the reader arms after each
  // drain and a writer rings at once; idle (default) = the reader arms only while its loop is
  // about to sleep; defer = idle, and the JS thread rings its peers' bells after each message it
  // handled or when its own loop is about to sleep, so a woken peer does not take the core from
  // a writer mid-turn.
  enum class Bell { kEager, kIdle, kDefer } bell = Bell::kIdle;
  uv_prepare_t* before_sleep = nullptr;  // idle, defer: arms the inboxes, rings what is pending
  uv_check_t* after_wake = nullptr;      // idle, defer: disarms them while JS runs

  static bool bell_mode(Bell& mode, std::string& why);
  bool start_bells(napi_env env, std::string& why);
  void arm_or_drain();
  void disarm_all();
  bool bells_pending = false;  // defer: some endpoint's bell_pending is set (JS thread)
  void ring_pending();

  void release(napi_env env) override {
    for (uv_handle_t* handle : {reinterpret_cast<uv_handle_t*>(before_sleep), reinterpret_cast<uv_handle_t*>(after_wake)}) {
      if (handle) uv_close(handle, [](uv_handle_t* closed) { free(closed); });
    }
    before_sleep = nullptr;
    after_wake = nullptr;
  }

  void published(uint32_t slot) override;
};

// ---- endpoints ------------------------------------------------------------------------------

struct Op : WorkRequest {
  uint64_t pushed = 0;  // bytes already in the peer's ring
};

struct Endpoint : QueuedEndpoint<Context, Op> {
  std::string name;
  SegmentHeader* inbox = nullptr;  // mine: the peer writes, I read
  SegmentHeader* outbox = nullptr; // the peer's inbox: I write
  bool inbox_unlinked = false;
  int peer_pid = -1;
  int pidfd = -1;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::string current_error;  // why the receive being filled (current) fails
  // Empty when this process may read the peer's memory with process_vm_readv (the single-copy
  // path); else why not (checked once at connect: same uid and ptrace permission, Yama's scope).
  std::string single_copy = "not connected";

  bool connected() const override { return outbox != nullptr; }
  std::string address() const override { return name + " " + std::to_string(getpid()); }
  // Serialises push() between the progress thread and a post on the JS thread.
  std::mutex push_mutex;
  void ring() { ring_bell(&inbox->bell); }
  /**
   * A receive was posted: the JS thread drains on its next loop turn only when a record already
   * waits in the inbox for it (drain stopped there) or the peer went (the receive then fails).
   * Otherwise the peer's next record wakes it anyway.
   */
  void recv_posted() {
    bool went = peer_went.load(std::memory_order_acquire);
    if (context->bell != Context::Bell::kEager && !went) drain_due = drain_due || !inbox_empty();  // before this loop sleeps
    else if (went || !inbox_empty()) wake_self();
  }
  // The JS thread's doorbell (see the functions of that name below).
  int eventfd = -1;       // this side's: its event loop polls it; the peer (or this progress thread) writes it
  int peer_eventfd = -1;  // this process's copy of the peer's (pidfd_getfd); -1: ring the peer's futex instead
  uv_poll_t* poller = nullptr;
  std::atomic<bool> peer_went{false};          // the progress thread found the peer gone (why: `gone`, under mutex)
  std::string gone;
  bool start_doorbell(napi_env env, std::string& why);
  void stop_doorbell();
  void wake_self();
  void notify_peer(bool on_js_thread);
  void ring_peer();
  bool bell_pending = false;  // defer: records were published from the JS thread; ring before its loop sleeps
  bool drain_due = false;     // idle, defer: a receive was posted for a record that waits; drain before sleeping
  void on_readable();
  bool drain_and_deliver();
  bool spin_for_data();
  uint64_t drained_head = 0;  // the head the last drain saw (JS thread)
  bool send_now(const uint8_t* header, uint64_t header_length, const uint8_t* payload, uint64_t payload_length);
  /**
   * Queues a checked send or write and pushes it into the peer's ring from this (JS) thread,
   * so a small message does not wait for the progress thread to be woken and scheduled (the
   * wake cost ~190 us a send on 2 busy cores, issue 10). The progress thread is rung only for
   * what does not fit now.
   */
  napi_value post(napi_env env, const char* what, const Op& op) {
    bool direct;
    if (!post_op(env, what, op, [] { return false; }, direct)) return nullptr;
    bool left = true;
    if (outbox) {
      std::lock_guard<std::mutex> lock(push_mutex);
      push(true);
      std::lock_guard<std::mutex> queue(mutex);
      left = !ops.empty();
    }
    if (left) ring();
    return nullptr;
  }
  void run();
  bool drain();
  bool push(bool on_js_thread);
  bool inbox_empty() const { return inbox->tail.load(std::memory_order_acquire) == inbox->head.load(std::memory_order_acquire); }
  void shutdown() override;
};

void Context::published(uint32_t slot) {
  const Region& r = regions[slot];
  uint64_t word = r.valid ? region_word(r.generation, r.length) : 0;
  for (EndpointBase* base : endpoints) {
    auto* endpoint = static_cast<Endpoint*>(base);
    if (endpoint->inbox) endpoint->inbox->regions[slot].store(word, std::memory_order_release);
  }
}

// Both sides map a segment with MAP_POPULATE: the creator's call allocates (and zeroes) every
// page of the ring at once, the writer's maps them, so the first pass of traffic through the
// ring takes no page faults. Without it a fresh world's first few dozen mid-size calls ran ~3x
// slower (a 4 MiB ring is 1,024 pages, touched first by the calls that reach them), which is
// what calibration and a training loop's first steps time. The memory is the ring's capacity,
// committed at creation, as Open MPI's and NCCL's per-peer buffers are.
void* map_segment(int fd, uint32_t capacity) {
  void* memory = mmap(nullptr, segment_bytes(capacity), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  return memory == MAP_FAILED ? nullptr : memory;
}

/** Creates the inbox `name`, replacing a stale one whose owner is dead. */
SegmentHeader* create_inbox(const std::string& name, uint32_t capacity, std::string& why) {
  for (int attempt = 0; attempt < 2; attempt++) {
    int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0 && errno == EEXIST && attempt == 0) {
      int old = shm_open(name.c_str(), O_RDONLY, 0);
      int owner = -1;
      struct stat st {};
      if (old >= 0 && fstat(old, &st) == 0 && (size_t)st.st_size >= sizeof(SegmentHeader)) {
        void* memory = mmap(nullptr, sizeof(SegmentHeader), PROT_READ, MAP_SHARED, old, 0);
        if (memory != MAP_FAILED) {
          owner = static_cast<SegmentHeader*>(memory)->owner_pid;
          munmap(memory, sizeof(SegmentHeader));
        }
      }
      if (old >= 0) close(old);
      if (process_alive(owner) && owner != getpid()) {
        why = "shared memory segment " + name + " is in use by live process " + std::to_string(owner);
        return nullptr;
      }
      shm_unlink(name.c_str());  // stale: left by a crashed job of the same secret
      continue;
    }
    if (fd < 0) { why = errno_text(("shm_open " + name).c_str()); return nullptr; }
    void* memory = nullptr;
    // The ring's pages are allocated here, where a full /dev/shm (a container's 64 MiB default)
    // is a clear error, and not at a later write into the mapping, where it would be a SIGBUS.
    int room = ftruncate(fd, segment_bytes(capacity)) == 0 ? posix_fallocate(fd, 0, segment_bytes(capacity)) : errno;
    if (room == 0) memory = map_segment(fd, capacity);
    if (room != 0) why = "creating " + name + ": no room for its " + std::to_string(segment_bytes(capacity) >> 10) + " KiB ring in /dev/shm (" + strerror(room) + "); a container needs a larger --shm-size";
    else if (!memory) why = errno_text(("creating " + name).c_str());
    close(fd);
    if (!memory) { shm_unlink(name.c_str()); return nullptr; }
    auto* header = new (memory) SegmentHeader();
    header->capacity = capacity;
    header->owner_pid = getpid();
    header->magic = kSegmentMagic;
    header->owner_address = reinterpret_cast<uint64_t>(header);
    return header;
  }
  why = "shared memory segment " + name + " could not be replaced";
  return nullptr;
}

/** Applies records from the inbox; stops at a record that needs a receive none is posted for. */
bool Endpoint::drain() {
  uint8_t* ring = ring_of(inbox);
  uint64_t capacity = inbox->capacity;
  uint64_t tail = inbox->tail.load(std::memory_order_relaxed);
  uint64_t head = inbox->head.load(std::memory_order_acquire);
  bool progressed = false;
  while (tail < head) {
    const Record* record = reinterpret_cast<const Record*>(ring + tail % capacity);
    const uint8_t* payload = reinterpret_cast<const uint8_t*>(record + 1);
    uint64_t size = record->type == kWrap ? capacity - tail % capacity : align_record(sizeof(Record) + record->length);
    bool needs_recv = (record->type == kSend && (record->flags & kFirst)) || (record->type == kWrite && (record->flags & kImm) && (record->flags & kLast));
    Recv recv{};
    if (needs_recv) {
      std::lock_guard<std::mutex> lock(mutex);
      if (recvs.empty()) break;  // receiver not ready: the peer waits, as an RNR retry would
      recv = recvs.front();
      recvs.pop_front();
    }
    if (record->type == kSend) {
      if (record->flags & kFirst) {
        receiving = true;
        current = recv;
        current_error.clear();
        if (record->total > recv.length) {
          current_error = "message of " + std::to_string(record->total) + " bytes exceeds the posted receive of " + std::to_string(recv.length) + " bytes";
        }
      }
      if (current_error.empty()) {
        std::lock_guard<std::mutex> lock(context->mutex);
        uint8_t* target = context->locate(current.key, current.offset + record->offset, record->length, current_error);
        if (target) memcpy(target, payload, record->length);
      }
      if (record->flags & kLast) {
        receiving = false;
        completed(new Completion{current.wr_id, current_error, "recv", (double)record->total, 0, false});
      }
    } else if (record->type == kWrite) {
      std::string why;
      {
        std::lock_guard<std::mutex> lock(context->mutex);
        uint8_t* target = context->locate(record->key, record->offset, record->length, why);
        if (target) memcpy(target, payload, record->length);
      }
      // A write that fails here (the region was deregistered after the peer checked it) is
      // reported on the receive its immediate consumes; verbs would fail the writer's QP.
      if (needs_recv) completed(new Completion{recv.wr_id, why.empty() ? "" : "remote write: " + why, "write-imm", (double)record->total, record->imm, true});
    }
    tail += size;
    inbox->tail.store(tail, std::memory_order_release);
    progressed = true;
  }
  if (progressed) {
    // Space freed: wake the peer's thread only if it is waiting for room (it said so before
    // its last look at the tail), not for every message read, which would cost it a wakeup.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (inbox->writer_waiting.exchange(0, std::memory_order_seq_cst)) ring_bell(&outbox->bell);
  }
  return progressed;
}

/** Pushes queued operations into the peer's inbox as far as its ring has room. */
bool Endpoint::push(bool on_js_thread) {
  uint8_t* ring = ring_of(outbox);
  uint64_t capacity = outbox->capacity;
  uint64_t head = outbox->head.load(std::memory_order_relaxed);
  bool progressed = false;
  bool announced = false;
  // Out of room: tell the reader to ring once it frees space, then look at the tail once more
  // (it may have moved before it saw the flag); true to retry, false to stop and wait.
  auto out_of_room = [&] {
    if (announced) return false;
    announced = true;
    outbox->writer_waiting.store(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return true;
  };
  for (;;) {
    Op* op;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (ops.empty()) break;
      op = &ops.front();  // only push() pops (under push_mutex); JS pushes to the back (deque keeps front stable)
    }
    uint64_t free = capacity - (head - outbox->tail.load(std::memory_order_acquire));
    uint64_t contiguous = capacity - head % capacity;
    if (contiguous < capacity && contiguous < kRecordAlign * 2) {
      if (free < contiguous) { if (out_of_room()) continue; break; }
      reinterpret_cast<Record*>(ring + head % capacity)->type = kWrap;
      head += contiguous;
      outbox->head.store(head, std::memory_order_release);
      continue;
    }
    uint64_t room = std::min(free, contiguous);
    if (room < kRecordAlign * 2 && !(op->length == 0 && room >= kRecordAlign)) { if (out_of_room()) continue; break; }
    uint64_t chunk = std::min<uint64_t>({op->length - op->pushed, kMaxFragment, room - sizeof(Record)});
    if (chunk < op->length - op->pushed && contiguous < free && contiguous < capacity / 4) {
      // Little room before the end of the ring: wrap rather than send a sliver.
      reinterpret_cast<Record*>(ring + head % capacity)->type = kWrap;
      head += contiguous;
      outbox->head.store(head, std::memory_order_release);
      continue;
    }
    Record* record = reinterpret_cast<Record*>(ring + head % capacity);
    std::string why;
    {
      std::lock_guard<std::mutex> lock(context->mutex);
      uint8_t* source = context->locate(op->key, op->offset + op->pushed, chunk, why);
      if (source) memcpy(record + 1, source, chunk);
    }
    if (!why.empty() && op->pushed == 0) {
      // Deregistered before anything was sent: fail this operation alone.
      Op failed = *op;
      { std::lock_guard<std::mutex> lock(mutex); ops.pop_front(); }
      context->complete(new Completion{failed.wr_id, "local " + why, failed.opcode(), 0, 0, false});
      continue;
    }
    record->type = op->write ? kWrite : kSend;
    record->flags = (op->pushed == 0 ? (uint32_t)kFirst : 0u) | (op->pushed + chunk == op->length ? (uint32_t)kLast : 0u) | (op->has_imm ? (uint32_t)kImm : 0u);
    record->length = (uint32_t)chunk;
    record->imm = op->imm;
    record->key = op->remote_key;
    record->offset = op->write ? op->remote_offset + op->pushed : op->pushed;
    record->total = op->length;
    head += align_record(sizeof(Record) + chunk);
    outbox->head.store(head, std::memory_order_release);
    op->pushed += chunk;
    progressed = true;
    if (op->pushed == op->length) {
      Op done = *op;
      { std::lock_guard<std::mutex> lock(mutex); ops.pop_front(); }
      context->complete(new Completion{done.wr_id, "", done.opcode(), (double)done.length, 0, false});
    }
  }
  if (progressed) notify_peer(on_js_thread);
  return progressed;
}

void Endpoint::run() {
  while (!stop.load(std::memory_order_acquire)) {
    uint32_t seen = inbox->bell.load(std::memory_order_acquire);
    bool progressed;
    {
      std::lock_guard<std::mutex> lock(push_mutex);
      progressed = push(false);
    }
    // A peer without a copy of the eventfd rang the futex for its records: pass it on.
    if (!inbox_empty() && inbox->reader_armed.load() && inbox->reader_armed.exchange(0)) wake_self();
    std::string why;
    pollfd dead{pidfd, POLLIN, 0};
    if (outbox->owner_closed.load() || inbox->writer_closed.load()) {
      why = "peer process " + std::to_string(peer_pid) + " closed the endpoint";
    } else if (pidfd >= 0 ? poll(&dead, 1, 0) > 0 : !process_alive(peer_pid)) {
      why = "peer process " + std::to_string(peer_pid) + " died";
    }
    if (!why.empty()) {
      // Like a TCP FIN: what the peer wrote before it went is still delivered, as receives are
      // posted for it; once its ring is empty every receive fails (a message cut short
      // included). The JS thread, which reads the ring, does that part (on_readable).
      fail_ops(why);
      { std::lock_guard<std::mutex> lock(mutex); gone = why; }
      peer_went.store(true, std::memory_order_release);
      wake_self();
      return;
    }
    if (!progressed) wait_bell(&inbox->bell, seen, 50 * 1000 * 1000);
  }
}

void Endpoint::shutdown() {
  if (destroyed) return;
  if (bell_pending && outbox) ring_peer();  // shutdown runs on the JS thread
  bell_pending = false;
  destroyed = true;
  if (thread.joinable()) {
    stop.store(true, std::memory_order_release);
    ring_bell(&inbox->bell);
    thread.join();
  }
  stop_doorbell();
  if (outbox) { outbox->writer_closed.store(1); ring_bell(&outbox->bell); }
  if (inbox) { inbox->owner_closed.store(1); }
  fail_all("endpoint destroyed");
  if (inbox && inbox->writer_pid.load() == 0) shm_unlink(name.c_str());  // never attached: the name is still ours
  if (inbox) munmap(inbox, segment_bytes(inbox->capacity));
  if (outbox) munmap(outbox, segment_bytes(outbox->capacity));
  inbox = outbox = nullptr;
  if (pidfd >= 0) close(pidfd);
  pidfd = -1;
}

// ---- the JS thread's doorbell and the small send (issue 10: 8-byte latency) -----------------
//
// A message used to cost three thread handoffs: the writer's futex woke the reader's progress
// thread, which copied it out and woke the JS thread through the completion queue, and the
// writer's own send completed through that queue too. Now the reader's JS thread drains its
// inbox in a uv_poll callback on an eventfd, which the writer writes itself (a copy of the fd
// taken with pidfd_getfd at connect; same permission as the single copy) only when the reader
// armed it: it arms before its last look at the ring, so a burst of messages costs one wakeup
// and a busy reader none. And a small send is copied straight into the ring by the caller and
// is complete when the call returns (send_now): no completion to deliver.

bool Endpoint::start_doorbell(napi_env env, std::string& why) {
  eventfd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (eventfd < 0) { why = errno_text("eventfd"); return false; }
  uv_loop_t* loop = nullptr;
  poller = new uv_poll_t;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, poller, eventfd) != 0) {
    why = "cannot poll the eventfd on the event loop";
    delete poller;
    poller = nullptr;
    return false;
  }
  poller->data = this;
  uv_poll_start(poller, UV_READABLE, [](uv_poll_t* handle, int, int) { static_cast<Endpoint*>(handle->data)->on_readable(); });
  // The completion queue keeps the loop alive while the context lives; the poll adds nothing.
  uv_unref(reinterpret_cast<uv_handle_t*>(poller));
  inbox->reader_eventfd = eventfd;
  inbox->reader_armed.store(1, std::memory_order_release);
  return true;
}

/** JS thread: stops polling and closes both eventfds (the handle is freed on the loop's next turn). */
void Endpoint::stop_doorbell() {
  if (poller) {
    uv_poll_stop(poller);
    uv_close(reinterpret_cast<uv_handle_t*>(poller), [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
    poller = nullptr;
  }
  if (eventfd >= 0) close(eventfd);
  if (peer_eventfd >= 0) close(peer_eventfd);
  eventfd = peer_eventfd = -1;
}

void Endpoint::wake_self() {
  count(counters.self_eventfd);
  uint64_t one = 1;
  if (write(eventfd, &one, sizeof one) < 0) { /* the counter is full: the loop is woken already */ }
}

/** After records were published: rings the peer now, or (defer, JS thread) before this loop sleeps. */
void Endpoint::notify_peer(bool on_js_thread) {
  if (on_js_thread && context->bell == Context::Bell::kDefer) bell_pending = context->bells_pending = true;
  else ring_peer();
}

/** Wakes the peer's JS thread if it armed its doorbell (or its progress thread, which passes it on). */
void Endpoint::ring_peer() {
  if (peer_eventfd < 0) return ring_bell(&outbox->bell);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // the head store before the look at armed (the reader does the reverse)
  if (outbox->reader_armed.load(std::memory_order_relaxed) && outbox->reader_armed.exchange(0, std::memory_order_seq_cst)) {
    count(counters.peer_eventfd);
    uint64_t one = 1;
    if (write(peer_eventfd, &one, sizeof one) < 0) { /* full counter: already woken */ }
  }
}

/** The eventfd is readable (JS thread): drains the inbox, arms the doorbell, delivers the receives' completions. */
void Endpoint::on_readable() {
  uint64_t count;
  if (read(eventfd, &count, sizeof count) < 0) { /* woken by another event: nothing to reset */ }
  if (context->bell != Context::Bell::kEager) context->disarm_all();  // awake now: writers need not ring until it sleeps again
  while (drain_and_deliver() && spin_for_data()) {
  }
}

/**
 * WEBCCL_SHM_SPIN_US (default 0: off): after delivering, the JS thread watches the ring this
 * long, disarmed (so the writer makes no syscall), before it goes back to the event loop; true
 * when a record came. On 2 busy cores the spinning thread takes a core from the peer.
 */
bool Endpoint::spin_for_data() {
  if (context->spin_ns <= 0 || destroyed || !outbox) return false;
  bool eager = context->bell == Context::Bell::kEager;  // else it is disarmed already, and arm_or_drain arms it
  if (eager) inbox->reader_armed.store(0, std::memory_order_relaxed);
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  int64_t deadline = now.tv_sec * 1000000000LL + now.tv_nsec + context->spin_ns;
  for (int i = 0;; i++) {
    if (inbox->head.load(std::memory_order_acquire) != drained_head) return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
    if ((i & 63) == 63) {
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (now.tv_sec * 1000000000LL + now.tv_nsec > deadline) break;
    }
  }
  if (!eager) return false;
  inbox->reader_armed.store(1, std::memory_order_seq_cst);
  return inbox->head.load(std::memory_order_seq_cst) != drained_head;
}

/** Drains what it can, arms the doorbell, delivers the receives' completions; false when the endpoint or context went meanwhile. */
bool Endpoint::drain_and_deliver() {
  if (destroyed || !outbox) return false;
  std::vector<Completion*> batch;
  direct = &batch;
  bool eager = context->bell == Context::Bell::kEager;
  for (;;) {
    uint64_t head = inbox->head.load(std::memory_order_acquire);
    drain();
    // eager: armed before the last look at head, so the writer of anything later rings; else
    // arm_or_drain arms it (and looks again) when the loop is about to sleep.
    if (eager) inbox->reader_armed.store(1, std::memory_order_seq_cst);
    drained_head = head;
    if (inbox->head.load(std::memory_order_seq_cst) == head) break;
  }
  direct = nullptr;
  if (peer_went.load(std::memory_order_acquire) && inbox_empty()) {
    std::string why;
    { std::lock_guard<std::mutex> lock(mutex); why = gone; }
    fail_all(why);  // through the queue: after the batch below
  }
  // ring_pending after each: what that message's handling sent (its microtasks included) goes now.
  Context* ctx = context;
  ctx->deliver_now(batch, [ctx] { ctx->ring_pending(); });
  return !context->destroyed && !destroyed;
}

// ---- when the doorbell rings (issue 10: the cost of a wakeup on busy cores) -----------------
//
// A writer's eventfd write wakes a sleeping reader, and on shared cores the woken reader
// often takes the core from the writer in the middle of its turn (CFS wakeup preemption): at
// 4 ranks on 2 cores, sends that carried only acks spent milliseconds a call inside sendNow.
// So (WEBCCL_SHM_BELL=idle, the default) the reader asks to be rung only when it is about to
// sleep: a uv_prepare handle, which runs just before the event loop blocks, arms each inbox and
// then looks at its head once more (the writer publishes the head before it looks at the flag:
// one of the two sees the other, no lost wakeup), draining what came instead of sleeping; a
// uv_check handle and every eventfd wakeup disarm them again, so a writer whose reader is busy
// running JS makes no syscall: the reader finds the records before it next sleeps. A sleeping
// reader is still rung at once. defer goes further: the JS thread rings what it published only
// after the message it was handling (its microtasks included), before a read's long copy, or
// when its loop is about to sleep, once per peer however many records went. It saves about one
// eventfd write more per call at 4 ranks, but holds a peer back while this thread works (on
// many cores that is lost overlap), and was no faster on 2; so it is a knob, not the default.
// eager is the behaviour before (arm after every drain, ring at once). The progress thread
// always rings at once.

/** WEBCCL_SHM_BELL's mode; false and why when it names none. */
bool Context::bell_mode(Bell& mode, std::string& why) {
  const char* name = getenv("WEBCCL_SHM_BELL");
  mode = Bell::kIdle;
  if (!name || !*name || strcmp(name, "idle") == 0) return true;
  if (strcmp(name, "eager") == 0) mode = Bell::kEager;
  else if (strcmp(name, "defer") == 0) mode = Bell::kDefer;
  else return why = std::string("WEBCCL_SHM_BELL must be eager, idle or defer, not '") + name + "'", false;
  return true;
}

bool Context::start_bells(napi_env env, std::string& why) {
  if (bell == Bell::kEager) return true;
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return why = "cannot hook the event loop", false;
  before_sleep = static_cast<uv_prepare_t*>(malloc(sizeof(uv_prepare_t)));
  after_wake = static_cast<uv_check_t*>(malloc(sizeof(uv_check_t)));
  if (!before_sleep || !after_wake) {
    free(before_sleep);
    free(after_wake);
    before_sleep = nullptr;
    after_wake = nullptr;
    return why = "out of memory", false;
  }
  uv_prepare_init(loop, before_sleep);
  uv_check_init(loop, after_wake);
  before_sleep->data = after_wake->data = this;
  uv_prepare_start(before_sleep, [](uv_prepare_t* handle) { static_cast<Context*>(handle->data)->arm_or_drain(); });
  uv_check_start(after_wake, [](uv_check_t* handle) { static_cast<Context*>(handle->data)->disarm_all(); });
  // Neither keeps the loop alive: the completion queue does while the context lives.
  uv_unref(reinterpret_cast<uv_handle_t*>(before_sleep));
  uv_unref(reinterpret_cast<uv_handle_t*>(after_wake));
  return true;
}

/** The loop is about to sleep (JS thread): rings what is pending, arms every inbox, drains those that got records. */
void Context::arm_or_drain() {
  // A drain runs JS, which may send (pending bells) or post receives on any endpoint: pass again
  // until a pass drains nothing. A peer that keeps writing is not chased forever: after a few
  // passes this thread wakes its own eventfd, so the loop polls I/O and comes back at once.
  constexpr int kPasses = 8;
  // `endpoints` is read here without `mutex`: only the JS thread changes it (createEndpoint),
  // and the progress threads copy under that lock, which this thread would wait for. By index:
  // a callback below may create an endpoint (push_back may move the vector).
  for (int pass = 0; pass < kPasses && !destroyed; pass++) {
    bool drained = false;
    bells_pending = false;  // this pass rings them all; a drain in it sets it again
    for (size_t i = 0; i < endpoints.size(); i++) {
      auto* endpoint = static_cast<Endpoint*>(endpoints[i]);
      if (destroyed) return;
      if (endpoint->destroyed || !endpoint->outbox) continue;
      if (endpoint->bell_pending) {
        endpoint->bell_pending = false;
        endpoint->ring_peer();
      }
      endpoint->inbox->reader_armed.store(1, std::memory_order_seq_cst);
      if (!endpoint->drain_due && endpoint->inbox->head.load(std::memory_order_seq_cst) == endpoint->drained_head) continue;
      endpoint->inbox->reader_armed.store(0, std::memory_order_relaxed);
      if (pass == kPasses - 1) {
        endpoint->wake_self();
        continue;
      }
      endpoint->drain_due = false;
      count(counters.prepare_drains);
      endpoint->drain_and_deliver();
      drained = true;
    }
    if (!drained) return;
  }
}

/** JS thread: rings every endpoint whose records wait for their bell. */
void Context::ring_pending() {
  if (!bells_pending) return;
  bells_pending = false;
  for (EndpointBase* base : endpoints) {  // JS thread: no lock (arm_or_drain says why); ring_peer runs no JS
    auto* endpoint = static_cast<Endpoint*>(base);
    if (!endpoint->bell_pending || endpoint->destroyed || !endpoint->outbox) continue;
    endpoint->bell_pending = false;
    endpoint->ring_peer();
  }
}

/** The loop woke (JS thread): writers need not ring until arm_or_drain arms the inboxes again. */
void Context::disarm_all() {
  for (EndpointBase* base : endpoints) {  // JS thread: no lock (arm_or_drain says why)
    auto* endpoint = static_cast<Endpoint*>(base);
    if (!endpoint->destroyed && endpoint->inbox) endpoint->inbox->reader_armed.store(0, std::memory_order_relaxed);
  }
}

/**
 * One two-sided send of header ‖ payload, copied into the peer's ring from the calling (JS)
 * thread when it fits in one record now and nothing is queued ahead of it. Complete when it
 * returns true: no work request, no completion. false: nothing was sent (broken, peer gone,
 * posts queued, no room); the caller posts it the usual way, which reports or waits.
 */
bool Endpoint::send_now(const uint8_t* header, uint64_t header_length, const uint8_t* payload, uint64_t payload_length) {
  uint64_t total = header_length + payload_length;
  if (!outbox || total > kMaxFragment) return false;
  std::lock_guard<std::mutex> push_lock(push_mutex);
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!ops.empty() || !broken.empty() || !peer_gone.empty()) return false;
  }
  uint8_t* ring = ring_of(outbox);
  uint64_t capacity = outbox->capacity;
  uint64_t need = align_record(sizeof(Record) + total);
  uint64_t head = outbox->head.load(std::memory_order_relaxed);
  uint64_t free = capacity - (head - outbox->tail.load(std::memory_order_acquire));
  uint64_t contiguous = capacity - head % capacity;
  if (contiguous < need) {
    if (free < contiguous + need) return false;
    reinterpret_cast<Record*>(ring + head % capacity)->type = kWrap;
    head += contiguous;
  } else if (free < need) {
    return false;
  }
  Record* record = reinterpret_cast<Record*>(ring + head % capacity);
  *record = Record{kSend, kFirst | kLast, (uint32_t)total, 0, 0, 0, total};
  memcpy(record + 1, header, header_length);
  memcpy(reinterpret_cast<uint8_t*>(record + 1) + header_length, payload, payload_length);
  outbox->head.store(head + need, std::memory_order_release);
  notify_peer(true);
  return true;
}

// ---- single copy (cross-memory attach) -------------------------------------------------------

/** "" when this process may read process `pid`'s memory: reads the magic of the segment header it placed at `header_address`. */
std::string probe_single_copy(int pid, uint64_t header_address) {
  uint32_t magic = 0;
  std::string why = read_peer(pid, reinterpret_cast<uint8_t*>(&magic), header_address + offsetof(SegmentHeader, magic), sizeof magic);
  if (!why.empty()) return why + (read_peer_errno() == EPERM ? " (ptrace permission: another uid, or /proc/sys/kernel/yama/ptrace_scope above 0)" : "");
  if (magic != kSegmentMagic) return "process_vm_readv probe read the wrong bytes";
  return "";
}

// ---- JS surface ---------------------------------------------------------------------------

napi_ref endpoint_constructor = nullptr;

napi_value ContextNew(napi_env env, napi_callback_info info) {
  Args args;
  std::string prefix;
  if (!get_args(env, info, args, 2, "new ShmContext(prefix, onCompletion)") || !get_string(env, args.values[0], prefix, "prefix")) return nullptr;
  for (char c : prefix) {
    if (!isalnum((unsigned char)c) && c != '-') return fail(env, "prefix may hold only letters, digits and '-'"), nullptr;
  }
  if (prefix.empty() || prefix.size() > 48) return fail(env, "prefix must hold 1 to 48 characters"), nullptr;
  Context::Bell bell;
  std::string why;
  if (!Context::bell_mode(bell, why)) return fail(env, "ShmContext: " + why), nullptr;  // before the completion queue, which would keep the loop alive
  auto* context = new Context();
  context->prefix = prefix;
  context->bell = bell;
  if (!wrap_context(env, args.self, args.values[1], context, "webccl-shm-completions")) return nullptr;
  if (!context->start_bells(env, why)) return fail(env, "ShmContext: " + why), nullptr;
  const char* spin = getenv("WEBCCL_SHM_SPIN_US");
  if (spin) context->spin_ns = std::min<int64_t>(std::max<int64_t>(atoll(spin), 0), 1000) * 1000;  // at most 1 ms
  return args.self;
}

napi_value ContextCreateEndpoint(napi_env env, napi_callback_info info) {
  std::string label;
  Context* context = creating_endpoint<Context>(env, info, label);
  if (!context) return nullptr;
  for (char c : label) {
    if (!isalnum((unsigned char)c) && c != '-') return fail(env, "label may hold only letters, digits and '-'"), nullptr;
  }
  std::string name = "/webccl-" + context->prefix + "-" + label;
  std::string why;
  SegmentHeader* inbox = create_inbox(name, kDefaultCapacity, why);
  if (!inbox) return fail(env, "createEndpoint: " + why), nullptr;
  auto* endpoint = new Endpoint();
  endpoint->context = context;
  endpoint->name = name;
  endpoint->inbox = inbox;
  if (!endpoint->start_doorbell(env, why)) {
    endpoint->shutdown();
    return fail(env, "createEndpoint: " + why), nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(context->mutex);
    for (uint32_t slot = 0; slot < kMaxRegions; slot++) {
      const Region& r = context->regions[slot];
      inbox->regions[slot].store(r.valid ? region_word(r.generation, r.length) : 0);
    }
  }
  return wrap_endpoint(env, endpoint_constructor, context, endpoint);
}

napi_value EndpointConnect(napi_env env, napi_callback_info info) {
  Args args;
  std::string blob;
  Endpoint* endpoint = connecting_endpoint<Endpoint>(env, info, "connect(address)", args, blob);
  if (!endpoint) return nullptr;
  if (endpoint->connected()) return fail(env, "connect: already connected"), nullptr;
  size_t space = blob.find(' ');
  if (blob.rfind("/webccl-", 0) != 0 || space == std::string::npos || blob.find('/', 1) != std::string::npos) {
    return fail(env, "connect: malformed address"), nullptr;
  }
  std::string name = blob.substr(0, space);
  int pid = atoi(blob.c_str() + space + 1);
  if (pid <= 0) return fail(env, "connect: malformed address"), nullptr;
  if (name == endpoint->name) return fail(env, "connect: an endpoint cannot connect to itself"), nullptr;
  int fd = shm_open(name.c_str(), O_RDWR, 0);
  if (fd < 0) return fail(env, errno_text(("connect: shm_open " + name).c_str())), nullptr;
  struct stat st {};
  void* memory = nullptr;
  if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(SegmentHeader)) {
    memory = mmap(nullptr, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);  // see map_segment
    if (memory == MAP_FAILED) memory = nullptr;
  }
  close(fd);
  auto* outbox = static_cast<SegmentHeader*>(memory);
  if (!outbox || outbox->magic != kSegmentMagic || outbox->owner_pid != pid || segment_bytes(outbox->capacity) != (size_t)st.st_size ||
      outbox->writer_pid.load() != 0) {
    if (memory) munmap(memory, st.st_size);
    return fail(env, "connect: " + name + " is not a fresh endpoint of process " + std::to_string(pid)), nullptr;
  }
  shm_unlink(name.c_str());  // both sides have it mapped now: nothing can be left behind
  outbox->writer_pid.store(getpid());
  endpoint->outbox = outbox;
  endpoint->peer_pid = pid;
  endpoint->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  // The peer's doorbell eventfd; without it (no ptrace permission, or WEBCCL_SHM_DOORBELL=futex:
  // the tests' way to that path) records ring its futex and its progress thread passes it on.
  const char* doorbell = getenv("WEBCCL_SHM_DOORBELL");
  bool futex_only = doorbell && strcmp(doorbell, "futex") == 0;
  if (endpoint->pidfd >= 0 && !futex_only) endpoint->peer_eventfd = (int)syscall(SYS_pidfd_getfd, endpoint->pidfd, outbox->reader_eventfd, 0);
  endpoint->single_copy = probe_single_copy(pid, outbox->owner_address);
  endpoint->inbox->owner_reads_writer.store(endpoint->single_copy.empty() ? 1 : 2, std::memory_order_release);
  endpoint->thread = std::thread([endpoint] { endpoint->run(); });
  return nullptr;
}

/** postSend(wrId, localKey, offset, length). */
napi_value EndpointPostSend(napi_env env, napi_callback_info info) {
  Args args;
  Op op;
  Endpoint* endpoint = posted_on<Endpoint>(env, info, PostKind::kSend, "postSend(wrId, key, offset, length)", args, op);
  return endpoint ? endpoint->post(env, "postSend", op) : nullptr;
}

/** postWrite(wrId, localKey, localOffset, length, remoteKey, remoteOffset, imm?) */
napi_value EndpointPostWrite(napi_env env, napi_callback_info info) {
  Args args;
  Op op;
  Endpoint* endpoint = posted_on<Endpoint>(env, info, PostKind::kWrite, "postWrite(wrId, key, offset, length, remoteKey, remoteOffset, imm?)", args, op);
  if (!endpoint) return nullptr;
  // The remote key and bounds, checked against the table the peer publishes in its segment.
  uint64_t word = endpoint->outbox->regions[op.remote_key & 0xff].load(std::memory_order_acquire);
  uint64_t remote_length = word & ((1ull << 40) - 1);
  if (word == 0 || (word >> 40) != (op.remote_key >> 8)) {
    return fail(env, "postWrite: unknown or deregistered remote key " + std::to_string(op.remote_key)), nullptr;
  }
  if (op.remote_offset > remote_length || op.length > remote_length - op.remote_offset) {
    return fail(env, "postWrite: bytes [" + std::to_string(op.remote_offset) + ", " + std::to_string(op.remote_offset + op.length) +
                         ") lie outside remote region " + std::to_string(op.remote_key) + " of " + std::to_string(remote_length) + " bytes"), nullptr;
  }
  return endpoint->post(env, "postWrite", op);
}

/**
 * singleCopy() → { readsPeer, peerReads }: readsPeer is "" when read() works toward this peer,
 * else why not; peerReads is true once the peer has connected and found it can read this
 * process's memory (until then, or without it, large sends keep the ring).
 */
napi_value EndpointSingleCopy(napi_env env, napi_callback_info info) {
  Args args;
  get_args(env, info, args, 0, "singleCopy()");
  Endpoint* endpoint = live_endpoint<Endpoint>(env, args.self, "singleCopy");
  if (!endpoint) return nullptr;
  bool peer_reads = endpoint->connected() && endpoint->outbox->owner_reads_writer.load(std::memory_order_acquire) == 1;
  napi_value result, reads_peer, peer_reads_value;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, endpoint->single_copy.c_str(), endpoint->single_copy.size(), &reads_peer);
  napi_get_boolean(env, peer_reads, &peer_reads_value);
  napi_set_named_property(env, result, "readsPeer", reads_peer);
  napi_set_named_property(env, result, "peerReads", peer_reads_value);
  return result;
}

/**
 * read(view, remoteAddress): copies view.byteLength bytes from the peer's memory at
 * remoteAddress (what the peer's addressOf gave) into view, synchronously, on the calling
 * thread: one copy. Like an RDMA READ whose source the peer exposed in a message; the peer
 * keeps the bytes unchanged until told the read is done. A bad address fails (EFAULT), never
 * touches memory here outside `view`.
 */
napi_value EndpointRead(napi_env env, napi_callback_info info) {
  Args args;
  uint8_t* data;
  size_t length;
  uint64_t address;
  if (!get_args(env, info, args, 2, "read(view, remoteAddress)")) return nullptr;
  Endpoint* endpoint = live_endpoint<Endpoint>(env, args.self, "read");
  if (!endpoint || !get_bytes(env, args.values[0], data, length, "view") || !get_index(env, args.values[1], address, "remoteAddress")) return nullptr;
  if (!endpoint->connected()) return fail(env, "read: not connected"), nullptr;
  if (!endpoint->single_copy.empty()) return fail(env, "read: no single copy toward this peer: " + endpoint->single_copy), nullptr;
  // A peer that closed has failed its pending sends, so its caller may reuse the bytes: never
  // read after its close, and discard a read its close overlapped (it sets the flag first).
  auto closed = [endpoint] { return endpoint->inbox->writer_closed.load() != 0; };
  std::string gone = "peer process " + std::to_string(endpoint->peer_pid) + " closed the endpoint";
  if (closed()) return fail(env, "read: " + gone), nullptr;
  endpoint->context->ring_pending();  // a long copy on this thread: what it sent before need not wait for it
  std::string why = read_peer(endpoint->peer_pid, data, address, length);
  if (!why.empty()) return fail(env, "read: " + why), nullptr;
  if (closed()) return fail(env, "read: " + gone), nullptr;
  return nullptr;
}

/** addressOf(view): where the view's first byte lies in this process (for a peer's read()). */
napi_value ContextAddressOf(napi_env env, napi_callback_info info) {
  Args args;
  uint8_t* data;
  size_t length;
  if (!get_args(env, info, args, 1, "addressOf(view)") || !get_bytes(env, args.values[0], data, length, "view")) return nullptr;
  napi_value value;
  napi_create_double(env, (double)reinterpret_cast<uint64_t>(data), &value);
  return value;
}

/** shmCounters() → { peerEventfd, selfEventfd, futexWakes, prepareDrains }: this process's counts so far (Counters). */
napi_value ShmCounters(napi_env env, napi_callback_info) {
  return counters_object(env, {{"peerEventfd", &counters.peer_eventfd}, {"selfEventfd", &counters.self_eventfd},
                               {"futexWakes", &counters.futex_wakes}, {"prepareDrains", &counters.prepare_drains}});
}

}  // namespace

napi_value init_shm(napi_env env, napi_value exports) {
  napi_value counts;
  napi_create_function(env, "shmCounters", NAPI_AUTO_LENGTH, ShmCounters, nullptr, &counts);
  napi_set_named_property(env, exports, "shmCounters", counts);
  define_provider(env, exports,
                  {"ShmContext", ContextNew, ContextCreateEndpoint, "ShmEndpoint", EndpointConnect, EndpointPostSend,
                   post_receive<Endpoint>, EndpointPostWrite, {{"addressOf", ContextAddressOf}},
                   {{"singleCopy", EndpointSingleCopy}, {"read", EndpointRead}, {"sendNow", send_now_call<Endpoint>}}},
                  endpoint_constructor);
  return exports;
}

}  // namespace webccl
