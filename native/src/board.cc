// The shared-memory collective board (Open MPI's coll/sm, NCCL's intra-node collectives): one
// segment per communicator of ranks on one host, which every rank maps, and in which allreduce,
// reduce, reduce-scatter, allgather and broadcast run in native code with one synchronization
// per chunk (a large allreduce or reduce: one more at the end) and no message at all. Layout:
// a header with a count of the ranks' threads asleep, one slot per rank (its arrival counter, also
// the futex word a peer sleeps on, a
// stamp of its call per buffer, its pid and, in the same cache line, a tiny allreduce's or
// reduce's data per buffer: kCarriedBytes), then per rank a lane of two buffers (double
// buffering: a rank copies its next chunk in while slower ranks still copy the last one out,
// with no third barrier).
//
// Every chunk starts the same way on every rank r of n: copy in what the others read of it,
// stamp and arrive, wait for every rank's arrival and compare the stamps. What follows depends
// on the collective:
// - allreduce / reduce, large: reduce slice r of the chunk over the n lanes in rank order
//   (x0 ⊕ x1 ⊕ ... ⊕ xn-1, the oracle's order, with the SIMD kernels of reduce.cc; its own part
//   read from the caller's elements, which it never copied in), finalize (avg), write it into
//   the caller's elements and over slice r of its lane (reduce: the root the first only, the
//   others the second only). The next chunk's arrival also says that this slice is published:
//   after it, copy the chunk before's other slices out (reduce: the root only); after the last
//   chunk, one more arrival and wait for that. Slices sit at the same place in every chunk of a
//   call, so a rank's next copy-in (which skips its slice) never writes what the others still
//   read. Small ((n-1) x bytes within kSmallBytes): one arrival, every rank (reduce: the root)
//   folds every lane itself.
// - reduce-scatter: each lane holds the chunk of the n-1 other blocks, side by side in block
//   order; rank r folds block r's over the n lanes (its own from the caller's elements) into its
//   own block, or into a separate output (out of place: the view is then only read).
// - allgather: each lane holds its rank's block's chunk; every rank copies the others' out.
// - broadcast: the root's lane holds the chunk (the others copy nothing in); they copy it out.
// - host buffers (an allgather whose block fills a lane buffer, a broadcast of more than one:
//   publishes): a rank whose view lies in a host buffer (host-buffer.h) publishes it in its slot
//   and copies nothing in; the readers map it and copy straight out of it (resolve_sources), and
//   the owners return only after one more arrival (every rank read from has one:
//   advance_single_copy's two arrivals, no lane at all). A large allreduce in place publishes
//   its view too, and its owner copies nothing in: the peers fold its elements straight from
//   its buffer (fold's sources), chunk by chunk, and the reduced slices go through the lanes
//   as before (no arrival more: every fold is over at the arrival after the last chunk). A large
//   reduce does the same, and its other ranks then wait for that last arrival too.
//
// Why it is safe to reuse a buffer with no more barriers: a rank reads buffer b of input phase
// p only before its own next arrival (a large allreduce's published slices: before its arrival
// after next, which is why its copy-in skips its own slice), and writes buffer b again at input
// phase p + 2, after it saw every rank arrive at phase p + 1.
//
// Waiting: the JS thread begins every call itself (its caller awaits it anyway), each wait
// polling up to the spin and yielding its core between polls (the host may have fewer cores than
// ranks), a large call for up to kHereNs in all; what it cannot finish goes to the board's thread,
// which resumes it where it stands, sleeps on the segment's futex (cross-process: no FUTEX_PRIVATE_FLAG),
// checks the pidfds of ranks that have not arrived every 20 ms and gives up at the call's
// deadline, and completes through a threadsafe function. Attaching runs on that thread too:
// rank 0 creates the segment (O_EXCL, mode 0600, pages allocated and mapped populated, a stale
// one of a dead creator replaced), the others open it once it is there, and the last to attach
// unlinks its name, so nothing stays in /dev/shm once every rank has it mapped.
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cross-memory.h"
#include "host-buffer.h"
#include "napi-util.h"
#include "reduce.h"

namespace webccl {

bool parse_dtype(napi_env env, napi_value value, DType& out);
bool parse_op(napi_env env, napi_value value, Op& out);

namespace {

constexpr uint32_t kBoardMagic = 0x57434342;  // "WCCB"
constexpr size_t kAlign = 64;
/** Small calls: one arrival, every rank reduces every lane, while (n - 1) x bytes stays within this. */
constexpr size_t kSmallBytes = 64 << 10;
/** A call's deadline (and `now`, `until`) not read from the clock yet: Board::run_here. */
constexpr int64_t kClockLater = INT64_MAX;
/** Bytes of one step of a fold (a multiple of every element size): its running result stays in L1. */
constexpr size_t kFoldStep = 8 << 10;
constexpr long kSliceNs = 20 * 1000 * 1000;  // the board thread's futex sleep between liveness checks
/**
 * The JS thread's wait polls this many times (about a microsecond) before it gives its core
 * away with sched_yield on every poll: a rank not there yet may need that core (ranks
 * outnumbering the cores, or other work on them). Measured against a yield every 64 polls:
 * 1.2-1.7x less time per small call at 2, 3 and 4 ranks on 2 loaded cores (docs/PERFORMANCE.md).
 */
constexpr int kPollsBeforeYield = 64;
/**
 * The board thread polls this long before it sleeps on the futex, where every rank has a core
 * of its own (Board::spins_): a large call waits once per chunk, mostly for a peer a few
 * microseconds behind, and a futex sleep and wake costs more than that on a VM. Measured at 2
 * ranks on 2 cores: 1.5-1.8x the busbw at 1 MiB (docs/PERFORMANCE.md, bw12). With more ranks
 * than cores a polling rank would take the core a peer needs, so they sleep at once as before.
 */
constexpr int64_t kThreadPollNs = 50 * 1000;
/**
 * How long the JS thread may hold a call (and so the event loop) before it hands the rest to
 * the board's thread, which it does only between chunks or in a wait. The caller awaits the
 * call anyway; what the hand-over costs (the board thread's wake-up, then the event loop's
 * through the threadsafe function, and a rank that comes late to its next call) was half of a
 * 1 MiB allreduce at 2 ranks (docs/PERFORMANCE.md, bw13). 2 ms bounds what other work on the
 * event loop waits for, and is long enough that a call handed over at it pays a few percent.
 */
constexpr int64_t kHereNs = 2 * 1000 * 1000;
/** RankSlot::single_copy_from of a rank that cannot read every peer (or was told not to). */
constexpr uint64_t kNever = UINT64_MAX;
/**
 * An allreduce or reduce of up to this many bytes carries its data in its rank's slot, beside
 * the arrival counter and stamps (RankSlot::carried), rather than in its lane: its peers then
 * take one cache line from each rank instead of the slot's line, then the lane's, one miss after
 * the other (docs/PERFORMANCE.md, lat15). Two of them and the slot's counters fill one line.
 */
constexpr size_t kCarriedBytes = 16;
/** Host buffers a rank freed, remembered in its slot for its peers to unmap (RankSlot::freed). */
constexpr uint32_t kFreedRing = 16;

/** A rank's host buffer for one call (HostBufferRef and its view's length); serial 0: its view is in none. */
struct Published {
  uint64_t serial, inode, buffer_bytes, offset, view_bytes;
  int32_t fd;
};

struct alignas(64) BoardHeader {
  uint32_t magic;  // written last by the creator (release): the rest is valid once it reads right
  uint32_t ranks;
  uint64_t buffer_bytes;  // one buffer of one lane
  int32_t creator_pid;
  std::atomic<uint32_t> attached;
  // Waiters asleep on a peer's arrival counter (RankSlot::arrivals, their futex word): an arrival
  // rings its own counter only then. Written only by a thread about to sleep, so the line stays
  // shared in every rank's cache and an arrival's look at it costs no transfer (it was beside a
  // word every arrival bumped: one contended line per call, docs/PERFORMANCE.md, lat16).
  alignas(64) std::atomic<uint32_t> sleepers;
};

struct alignas(64) RankSlot {
  // The first cache line: what a peer reads of a small call, in one line transfer. `arrivals` is
  // also the futex word a waiting peer sleeps on (Board::sleep_on).
  std::atomic<uint32_t> arrivals;
  int32_t pid;
  std::atomic<uint64_t> stamp[2];  // the call of this rank's last input phase in buffer 0 / 1
  // A carried call's data (Board::carried) per input phase parity, instead of its lane: the
  // peer that sees the arrival has the data in the same line (double buffered as the lanes).
  alignas(8) uint8_t carried[2][kCarriedBytes];
  // Single copy (advance_single_copy): where this rank's view lies in its own address space and
  // its length, for the call it last published (peers read them after its publishing arrival).
  uint64_t address;
  uint64_t bytes;
  uint64_t header_address;              // where this rank mapped the segment: peers probe CMA by reading its magic there
  std::atomic<uint64_t> single_copy_from;  // 0 until attached; then its threshold in bytes, kNever when it cannot or will not
  uint32_t membarrier;                     // 1: this rank's process can fence its peers (Board::can_fence_sleepers), written before single_copy_from
  cpu_set_t cpus;                          // the CPUs its board was made on (Board::cpus_), written before single_copy_from
  // Direct reads: the host buffer of this rank's call per input phase parity (like stamp: a
  // peer reads it before its next arrival, and it is rewritten two input phases later), and the
  // serials of the host buffers it freed (freed[i % kFreedRing], i < freed_count) that its peers
  // still map.
  Published published[2];
  std::atomic<uint64_t> freed_count;
  std::atomic<uint64_t> freed[kFreedRing];
};

static_assert(offsetof(RankSlot, carried) + sizeof(RankSlot::carried) <= kAlign, "a slot's arrival, stamps and carried data share its first cache line");

size_t board_bytes(uint32_t ranks, uint64_t buffer_bytes) {
  return sizeof(BoardHeader) + ranks * sizeof(RankSlot) + (size_t)ranks * 2 * buffer_bytes;
}

std::string errno_message(const std::string& what) { return what + ": " + strerror(errno); }
/** The CPUs the calling thread may run on (a board's threads inherit them); none where it cannot tell. */
cpu_set_t thread_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) CPU_ZERO(&set);
  return set;
}

/**
 * Whether each of `ranks` ranks can have a CPU of its own, given the CPUs each may run on: a
 * CPU handed to each rank in turn, those with the fewest first, the lowest still free of its
 * own. Where that finds one for every rank they can; it may miss an assignment that exists (it
 * never undoes a choice), and then they are taken to share, which only costs speed. Ranks
 * bound one to a CPU (the launcher: bin/launch/bind.ts) each see one CPU, yet have one each.
 */
bool cpu_each(const RankSlot* slots, uint32_t ranks) {
  std::vector<uint32_t> order(ranks);
  for (uint32_t r = 0; r < ranks; r++) order[r] = r;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return CPU_COUNT(&slots[a].cpus) < CPU_COUNT(&slots[b].cpus); });
  cpu_set_t taken;
  CPU_ZERO(&taken);
  for (uint32_t r : order) {
    int cpu = 0;
    while (cpu < CPU_SETSIZE && !(CPU_ISSET(cpu, &slots[r].cpus) && !CPU_ISSET(cpu, &taken))) cpu++;
    if (cpu == CPU_SETSIZE) return false;
    CPU_SET(cpu, &taken);
  }
  return true;
}
bool alive(int pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }
int64_t now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/** The collectives the board runs (their names in run()'s kind argument: kKindNames). */
enum class Kind { all_reduce, reduce, reduce_scatter, all_gather, broadcast };
constexpr const char* kKindNames[] = {"allReduce", "reduce", "reduceScatter", "allGather", "broadcast"};

/** One call in flight: where it is, so that the board thread can resume what the JS thread began. */
struct Call {
  double id = 0;
  uint8_t* data = nullptr;
  size_t count = 0;      // elements of the view (reduce-scatter, allgather: n blocks of count / n)
  uint8_t* output = nullptr;  // reduce-scatter out of place: block rank's result goes here, the view is only read
  const uint8_t* input = nullptr;  // allreduce out of place: its elements, read only (the view then gets the result)
  Kind kind = Kind::all_reduce;
  uint32_t root = 0;     // reduce, broadcast
  DType dtype = DType::f32;
  Op op = Op::sum;
  bool average = false;
  uint64_t stamp = 0;
  int64_t deadline = 0;    // kClockLater until the call first reads the clock (Board::start_clock)
  int64_t until_here = 0;  // its end of polling on the JS thread, from that read
  int64_t spin = 0;      // on the JS thread: how long each wait polls before the call is handed over
  int waits_here = 0;    // waits the JS thread began (WEBCCL_BOARD_TEST_HAND_OVER_AT)
  size_t chunk = 0;      // elements done (reduce-scatter, allgather: of each block)
  size_t step = 0;       // elements per chunk (the last may be shorter): chunk_elements()
  int stage = 0;         // within the current chunk
  uint32_t target = 0;   // the arrival count the current wait waits for
  uint32_t buffer = 0;   // the buffer of the current chunk
  napi_ref keep = nullptr;
  napi_ref keep_output = nullptr;
  napi_ref keep_input = nullptr;
  std::string error;
  // Direct reads (Board::resolve_sources): this rank's host buffer (held in use until the call
  // is done; null: its view is in none), and per rank the mapped start of its view where this
  // rank reads it from there (null: from its lane, or process_vm_readv).
  std::shared_ptr<HostBufferUse> own_buffer;
  HostBufferRef own_ref;
  std::vector<const uint8_t*> source;
  bool resolved = false;
  bool direct_all = false;   // every rank read from has a host buffer: advance_single_copy's two arrivals
  bool direct_any = false;   // some have: the lanes, then one more arrival before the owners may return
  int tail = 0;              // that arrival: 1 made, waiting
};

enum class Wait { done, pending, failed };

/** Single-copy calls (allgather, broadcast) this process's boards ran: boardCounters(). */
std::atomic<uint64_t> single_copy_calls{0};
/** Calls that read every rank's data straight from its host buffer / only some ranks' (the rest through the lanes): boardCounters(). */
std::atomic<uint64_t> host_buffer_calls{0}, host_buffer_mixed_calls{0};
/** Board-thread sleeps that ended with every rank there: woken by the last arrival / at the end of their slice (a missed wake, or an arrival just then): boardCounters(). */
std::atomic<uint64_t> sleeps_rung{0}, sleeps_run_out{0};

class Board;
/** This process's attached boards: a freed host buffer is announced in each one's slot. */
std::mutex live_boards_mutex;
std::vector<Board*> live_boards;

class Board {
 public:
  /** `single_copy_from`: this rank's wish (bytes, 0: never), agreed with the others' at attach. */
  Board(std::string name, uint32_t rank, uint32_t ranks, uint64_t buffer_bytes, int64_t timeout_ns, uint64_t single_copy_from, int64_t spin)
      : call_timeout_ns(timeout_ns), spin_ns(spin), name_(std::move(name)), rank_(rank), ranks_(ranks), buffer_bytes_(buffer_bytes), attach_deadline_(now_ns() + timeout_ns),
        wished_single_copy_from_(single_copy_from == 0 ? kNever : single_copy_from), read_delay_us_(test_read_delay_us()), hand_over_at_(test_hand_over_at()),
        cpus_(thread_cpus()), test_no_membarrier_(getenv("WEBCCL_BOARD_TEST_NO_MEMBARRIER") != nullptr) {}

  /** How long a call may wait for its peers (its deadline), and how long each wait of the JS thread polls before it hands the call over. */
  const int64_t call_timeout_ns, spin_ns;

  napi_threadsafe_function completions = nullptr;
  std::atomic<bool> attached{false};
  std::atomic<bool> busy{false};  // a call is queued or on the board thread
  int pending_refs = 0;            // JS thread only: calls whose completion will come (they keep the loop alive)

  void start() { thread_ = std::thread([this] { loop(); }); }

  /**
   * Runs `call` on this (JS) thread, each wait polling up to `spin_ns`, for up to kHereNs in
   * all (a small call: `spin_ns`); Wait::pending: not finished, hand the rest over (advance
   * resumes it where it stands). A small call's clock (its deadline, its end of polling here)
   * starts at its first wait that polls (wait, start_clock): after its arrival, which a read
   * (~26 ns here) would otherwise delay for the peers waiting on it; and a call whose peers are
   * all there reads no clock at all.
   */
  Wait run_here(Call& call, int64_t spin_ns) {
    call.spin = spin_ns;
    call.waits_here = 0;
    bool small = call.count * element_bytes(call.dtype) <= kSmallBytes;
    if (small && hand_over_at_ < 0) return advance(call, kClockLater, false);
    const int64_t now = now_ns();
    start_clock(call, now);
    // A peer in this process needs this thread to make its own call: the first rank's waits
    // would only run out. And the test's slow reader (WEBCCL_BOARD_TEST_READ_DELAY_MS) sleeps on
    // the board thread, as its tests expect: their event loop must stay free to kill a peer then.
    if (!small && (peer_in_process_ || read_delay_us_ > 0)) return Wait::pending;
    // Under the test hook only the hook hands a call over (its waits may still run out).
    int64_t budget = hand_over_at_ >= 0 ? call.deadline - now : small ? spin_ns : std::max(spin_ns, kHereNs);
    return advance(call, now + budget, false);
  }

  /** A call's deadline, and its end of polling on the JS thread, from `now`, where they are still to be set (kClockLater). */
  void start_clock(Call& call, int64_t now) const {
    if (call.deadline != kClockLater) return;
    call.deadline = now + call_timeout_ns;
    call.until_here = now + call.spin;
  }

  void hand_over(Call* call) {
    // A call whose clock never started (it never polled here) counts its deadline from now.
    start_clock(*call, now_ns());
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(call);
    ready_.notify_one();
  }

  /** Stops the thread (a call it runs fails), unmaps the segment, closes the pidfds. */
  void close() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closing_) return;
      closing_ = true;
      ready_.notify_one();
    }
    // This board's thread may sleep on any rank's counter: wake it there (it then sees closing_;
    // one that was about to sleep sees it after its slice).
    if (header_) for (uint32_t r = 0; r < ranks_; r++) ring(r);
    if (thread_.joinable()) thread_.join();
    {
      std::lock_guard<std::mutex> lock(live_boards_mutex);
      for (size_t i = 0; i < live_boards.size(); i++) if (live_boards[i] == this) live_boards.erase(live_boards.begin() + i);
    }
    for (auto& mapping : mapped_) munmap(mapping.second.first, mapping.second.second);
    mapped_.clear();
    if (header_) munmap(header_, board_bytes(ranks_, buffer_bytes_));
    header_ = nullptr;
    // Not attached by every rank (one died or was late): the name we created may still be there.
    if (!all_attached_ && created_) shm_unlink(name_.c_str());
    for (int fd : pidfds_) if (fd >= 0) ::close(fd);
    pidfds_.clear();
  }

  bool closed() const { return closing_; }

  /** Host buffer `serial` of this process was freed: the peers that mapped it unmap it (forget_freed). */
  void announce_freed(uint64_t serial) {
    RankSlot& slot = slots_[rank_];
    uint64_t i = slot.freed_count.load(std::memory_order_relaxed);
    slot.freed[i % kFreedRing].store(serial, std::memory_order_relaxed);
    slot.freed_count.store(i + 1, std::memory_order_release);
  }
  uint32_t ranks() const { return ranks_; }
  const std::string& broken() const { return broken_; }
  /** The agreed single-copy threshold (kNever: off on every rank), valid once attached. */
  uint64_t single_copy_from() const { return single_copy_from_; }
  /** Why single copy is off ("" when on), valid once attached. */
  const std::string& single_copy_off() const { return single_copy_off_; }
  /** Why every arrival fences itself ("" when the sleepers fence instead: sleeper_fences_), valid once attached. */
  const std::string& arrival_fence() const { return arrival_fence_; }

 private:
  const std::string name_;
  const uint32_t rank_, ranks_;
  const uint64_t buffer_bytes_;
  const int64_t attach_deadline_;
  const uint64_t wished_single_copy_from_;
  const int64_t read_delay_us_;
  const int hand_over_at_;  // WEBCCL_BOARD_TEST_HAND_OVER_AT, or -1
  const cpu_set_t cpus_;  // the CPUs of the thread that made this board (and of the board's thread, which inherits them)
  bool spins_ = false;    // agreed at attach: every rank can have a CPU of its own (cpu_each), so the board thread polls kThreadPollNs before it sleeps
  const bool test_no_membarrier_;  // WEBCCL_BOARD_TEST_NO_MEMBARRIER was set when this board was made
  bool sleeper_fences_ = false;    // agreed at attach: arrivals are release stores, a sleeper fences every rank (membarrier)
  std::string arrival_fence_ = "not attached";  // why not ("" when it does), valid once attached
  uint64_t single_copy_from_ = kNever;
  std::string single_copy_off_ = "not attached";
  BoardHeader* header_ = nullptr;
  RankSlot* slots_ = nullptr;
  uint8_t* lanes_ = nullptr;
  std::vector<int> pidfds_;
  bool all_attached_ = false;
  bool peer_in_process_ = false;  // another rank of this board runs in this process (one JS thread for both)
  bool created_ = false;       // this rank made the segment (rank 0), so it removes a name left behind
  uint32_t arrivals_ = 0;      // this rank's own count (every rank makes the same sequence of arrivals)
  uint32_t input_phases_ = 0;  // its parity picks the buffer
  std::string broken_;         // sticky: a board that failed once fails every later call
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Call*> queue_;
  bool closing_ = false;
  // Peers' host buffers this rank mapped, by (rank, serial): (address, bytes). Only the thread
  // running a call touches them (one call at a time); unmapped when their owner frees them, or at close.
  std::map<std::pair<uint32_t, uint64_t>, std::pair<uint8_t*, size_t>> mapped_;
  std::vector<uint64_t> freed_seen_;  // per rank: how many of its RankSlot::freed this rank handled

  uint8_t* lane(uint32_t rank, uint32_t buffer) const { return lanes_ + ((size_t)rank * 2 + buffer) * buffer_bytes_; }

  /** A one-arrival allreduce or reduce small enough that each rank's data goes in its slot (RankSlot::carried), not its lane. */
  bool carried(const Call& call) const {
    return (call.kind == Kind::all_reduce || call.kind == Kind::reduce) && call.count * element_bytes(call.dtype) <= kCarriedBytes && one_arrival(call);
  }

  /** Where rank `rank`'s part of `call` in `buffer` lies: its slot's carried data, or its lane. */
  uint8_t* lane_of(const Call& call, uint32_t rank, uint32_t buffer) const { return carried(call) ? slots_[rank].carried[buffer] : lane(rank, buffer); }

  void loop() {
    std::string why;
    if (!attach(why)) broken_ = why;
    attached.store(true, std::memory_order_release);
    for (;;) {
      Call* call;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return closing_ || !queue_.empty(); });
        if (queue_.empty()) return;
        call = queue_.front();
        queue_.pop_front();
      }
      if (advance(*call, call->deadline, true) != Wait::done && call->error.empty()) call->error = "board: closed during the call";
      busy.store(false, std::memory_order_release);
      if (napi_call_threadsafe_function(completions, call, napi_tsfn_nonblocking) != napi_ok) delete call;
    }
  }

  bool stopping() {
    std::lock_guard<std::mutex> lock(mutex_);
    return closing_;
  }

  /** Maps the segment (rank 0 creates it), waits for every rank, opens their pidfds. */
  bool attach(std::string& why) {
    size_t bytes = board_bytes(ranks_, buffer_bytes_);
    void* memory = nullptr;
    while (!memory) {
      if (stopping()) return why = "board: closed while attaching", false;
      if (now_ns() > attach_deadline_) return why = "board: segment " + name_ + " not ready before the deadline (rank 0 never created it)", false;
      memory = rank_ == 0 ? create(bytes, why) : open_existing(bytes);
      if (!memory && !why.empty()) return false;
      if (!memory) usleep(1000);
    }
    header_ = static_cast<BoardHeader*>(memory);
    slots_ = reinterpret_cast<RankSlot*>(header_ + 1);
    lanes_ = reinterpret_cast<uint8_t*>(slots_ + ranks_);
    slots_[rank_].pid = getpid();
    slots_[rank_].header_address = reinterpret_cast<uint64_t>(header_);
    if (header_->attached.fetch_add(1) + 1 == ranks_) shm_unlink(name_.c_str());
    while (header_->attached.load() < ranks_) {
      if (stopping()) return why = "board: closed while attaching", false;
      if (now_ns() > attach_deadline_) {
        return why = "board: only " + std::to_string(header_->attached.load()) + " of " + std::to_string(ranks_) + " ranks attached to the shared segment before the deadline", false;
      }
      usleep(200);
    }
    all_attached_ = true;
    pidfds_.assign(ranks_, -1);
    for (uint32_t r = 0; r < ranks_; r++) if (r != rank_) pidfds_[r] = (int)syscall(SYS_pidfd_open, slots_[r].pid, 0);
    for (uint32_t r = 0; r < ranks_; r++) peer_in_process_ |= r != rank_ && slots_[r].pid == slots_[rank_].pid;
    freed_seen_.assign(ranks_, 0);
    {
      std::lock_guard<std::mutex> lock(live_boards_mutex);
      live_boards.push_back(this);
    }
    return agree_single_copy(why);
  }

  /**
   * Whether this rank's process can order its peers' arrivals from the sleeping side
   * (membarrier's global expedited barrier, registered here; a seccomp filter or an old kernel
   * may refuse it, as may WEBCCL_BOARD_TEST_NO_MEMBARRIER, tests only). Published in its slot
   * before its threshold; agree_single_copy, which waits for every rank's, then settles
   * sleeper_fences_: only when every rank can, since a sleeper that cannot fence would miss the
   * arrivals of a rank that does not fence them itself, and only where the ranks have a CPU
   * each (spins_), whose board threads poll before they sleep, so that sleeps are rare. With
   * more ranks than CPUs a thread sleeps at every wait it is handed, and each barrier interrupts
   * every CPU running a rank: 4 ranks' 16 MiB allreduce on 2 cores lost 5-28% busbw with it
   * (docs/PERFORMANCE.md, lat16).
   */
  std::string can_fence_sleepers() const {
    if (test_no_membarrier_) return "turned off for a test";
    long commands = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (commands < 0) return errno_message("membarrier");
    if (!(commands & MEMBARRIER_CMD_GLOBAL_EXPEDITED)) return "no MEMBARRIER_CMD_GLOBAL_EXPEDITED in this kernel";
    if (syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) != 0) return errno_message("membarrier register");
    return "";
  }

  /**
   * Whether large allgathers and broadcasts read straight from the peers' views: this rank
   * probes every peer (reads the segment's magic where that peer mapped it), publishes its
   * threshold (kNever when a probe failed or it was told not to) and takes the largest of all
   * ranks', so that every rank takes the same path for every call.
   */
  bool agree_single_copy(std::string& why) {
    uint64_t mine = wished_single_copy_from_;
    std::string off = mine == kNever ? "turned off on rank " + std::to_string(rank_) : "";
    for (uint32_t r = 0; r < ranks_ && mine != kNever; r++) {
      if (r == rank_) continue;
      uint32_t magic = 0;
      std::string failed = read_peer(slots_[r].pid, reinterpret_cast<uint8_t*>(&magic), slots_[r].header_address, sizeof magic);
      if (failed.empty() && magic != kBoardMagic) failed = "read the wrong bytes";
      if (!failed.empty()) mine = kNever, off = "rank " + std::to_string(rank_) + " cannot read rank " + std::to_string(r) + "'s memory: " + failed;
      if (read_peer_errno() == EPERM) off += " (ptrace permission: another uid, a seccomp filter, or /proc/sys/kernel/yama/ptrace_scope above 0)";
    }
    std::string no_fence = can_fence_sleepers();
    slots_[rank_].membarrier = no_fence.empty() ? 1 : 0;
    slots_[rank_].cpus = cpus_;
    arrival_fence_ = no_fence.empty() ? "" : "rank " + std::to_string(rank_) + " cannot fence its peers (" + no_fence + ")";
    slots_[rank_].single_copy_from.store(mine);
    uint64_t agreed = mine;
    for (uint32_t r = 0; r < ranks_; r++) {
      uint64_t theirs;
      while ((theirs = slots_[r].single_copy_from.load()) == 0) {
        if (stopping()) return why = "board: closed while attaching", false;
        if (now_ns() > attach_deadline_) return why = "board: rank " + std::to_string(r) + " did not finish attaching before the deadline", false;
        pollfd gone{pidfds_[r], POLLIN, 0};
        if (pidfds_[r] >= 0 && poll(&gone, 1, 0) > 0) return why = "board: rank " + std::to_string(r) + " (process " + std::to_string(slots_[r].pid) + ") died", false;
        usleep(200);
      }
      if (theirs == kNever && off.empty()) off = "rank " + std::to_string(r) + " cannot read every peer or turned it off";
      agreed = std::max(agreed, theirs);
      if (slots_[r].membarrier == 0 && arrival_fence_.empty()) arrival_fence_ = "rank " + std::to_string(r) + " cannot fence its peers (membarrier)";
    }
    // Every rank's CPUs are in the slots now, so every rank decides alike. Not from its own
    // affinity alone: ranks bound one to a CPU would each count one, fewer than the ranks, and
    // give up the poll and the plain arrival (docs/PERFORMANCE.md, lat18).
    spins_ = cpu_each(slots_, ranks_);
    if (!spins_ && arrival_fence_.empty()) arrival_fence_ = "the ranks outnumber their CPUs: each sleeps at every wait it is handed";
    sleeper_fences_ = arrival_fence_.empty();
    single_copy_from_ = agreed;
    single_copy_off_ = agreed == kNever ? off : "";
    return true;
  }

  /**
   * WEBCCL_BOARD_TEST_READ_DELAY_MS (tests only): a reader of its peers' views (single copy, host
   * buffers) sleeps that long before it maps or reads them, so that an owner returning early, or
   * dying in between, shows.
   */
  static int64_t test_read_delay_us() {
    const char* raw = getenv("WEBCCL_BOARD_TEST_READ_DELAY_MS");
    return raw ? std::max(0L, std::min(60000L, strtol(raw, nullptr, 10))) * 1000 : 0;
  }

  /**
   * WEBCCL_BOARD_TEST_HAND_OVER_AT=k (tests only): the JS thread hands every call over at its
   * k-th wait (0: the first), whether or not the peers are there, so that a test resumes calls
   * on the board thread at a stage of its choosing. -1 when unset.
   */
  static int test_hand_over_at() {
    const char* raw = getenv("WEBCCL_BOARD_TEST_HAND_OVER_AT");
    return raw ? (int)std::max(0L, std::min(1L << 20, strtol(raw, nullptr, 10))) : -1;
  }

  void* create(size_t bytes, std::string& why) {
    for (int attempt = 0; attempt < 2; attempt++) {
      int fd = shm_open(name_.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
      if (fd < 0 && errno == EEXIST && attempt == 0) {
        int creator = creator_of();
        if (alive(creator) && creator != getpid()) return why = "board: segment " + name_ + " is in use by live process " + std::to_string(creator), nullptr;
        shm_unlink(name_.c_str());  // stale: left by a crashed job of the same secret
        continue;
      }
      if (fd < 0) return why = errno_message("board: shm_open " + name_), nullptr;
      int room = ftruncate(fd, bytes) == 0 ? posix_fallocate(fd, 0, bytes) : errno;
      void* memory = room == 0 ? mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0) : MAP_FAILED;
      if (room != 0) why = "board: no room for its " + std::to_string(bytes >> 10) + " KiB segment in /dev/shm (" + strerror(room) + "); a container needs a larger --shm-size";
      else if (memory == MAP_FAILED) why = errno_message("board: mapping " + name_);
      ::close(fd);
      if (memory == MAP_FAILED) return shm_unlink(name_.c_str()), nullptr;
      auto* header = new (memory) BoardHeader();
      header->ranks = ranks_;
      header->buffer_bytes = buffer_bytes_;
      header->creator_pid = getpid();
      for (uint32_t r = 0; r < ranks_; r++) new (static_cast<uint8_t*>(memory) + sizeof(BoardHeader) + r * sizeof(RankSlot)) RankSlot();
      std::atomic_thread_fence(std::memory_order_release);
      reinterpret_cast<std::atomic<uint32_t>*>(&header->magic)->store(kBoardMagic, std::memory_order_release);
      created_ = true;
      return memory;
    }
    return why = "board: segment " + name_ + " could not be replaced", nullptr;
  }

  int creator_of() {
    int fd = shm_open(name_.c_str(), O_RDONLY, 0);
    if (fd < 0) return -1;
    struct stat st {};
    int creator = -1;
    if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(BoardHeader)) {
      void* memory = mmap(nullptr, sizeof(BoardHeader), PROT_READ, MAP_SHARED, fd, 0);
      if (memory != MAP_FAILED) creator = static_cast<BoardHeader*>(memory)->creator_pid, munmap(memory, sizeof(BoardHeader));
    }
    ::close(fd);
    return creator;
  }

  /** The segment rank 0 made, once complete and its creator alive (a stale one is not ours: retry). */
  void* open_existing(size_t bytes) {
    int fd = shm_open(name_.c_str(), O_RDWR, 0);
    if (fd < 0) return nullptr;
    struct stat st {};
    void* memory = MAP_FAILED;
    if (fstat(fd, &st) == 0 && (size_t)st.st_size == bytes) memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    ::close(fd);
    if (memory == MAP_FAILED) return nullptr;
    auto* header = static_cast<BoardHeader*>(memory);
    bool ready = reinterpret_cast<std::atomic<uint32_t>*>(&header->magic)->load(std::memory_order_acquire) == kBoardMagic &&
                 header->ranks == ranks_ && header->buffer_bytes == buffer_bytes_ && alive(header->creator_pid);
    if (!ready) munmap(memory, bytes);
    return ready ? memory : nullptr;
  }

  /** Wakes every thread asleep on rank `r`'s arrival counter. */
  void ring(uint32_t r) { syscall(SYS_futex, reinterpret_cast<uint32_t*>(&slots_[r].arrivals), FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0); }

  void arrive(uint64_t stamp, bool input) {
    if (input) slots_[rank_].stamp[input_phases_ & 1].store(stamp, std::memory_order_relaxed);
    // The arrival, then the look at `sleepers`, against a sleeper's count of itself, then its
    // look at the counters (sleep_on): one of the two must see the other, or a peer sleeps
    // through this arrival. A seq_cst store (x86: xchg) would order them here, but it stalls
    // until the peers' copies of the line are gone: ~150 ns of a ~300 ns lockstep round
    // (docs/PERFORMANCE.md, lat16). Where every rank's process can, the sleeper orders both
    // sides instead (membarrier), and the arrival is a plain release store.
    if (sleeper_fences_) {
      slots_[rank_].arrivals.store(++arrivals_, std::memory_order_release);
      std::atomic_signal_fence(std::memory_order_seq_cst);  // the compiler keeps the load below after the store
    } else {
      slots_[rank_].arrivals.store(++arrivals_);
    }
    if (header_->sleepers.load() > 0) ring(rank_);
  }

  /** The first rank short of `target` arrivals, or ranks_ when every rank made them. */
  uint32_t first_missing(uint32_t target) const {
    for (uint32_t r = 0; r < ranks_; r++) if ((int32_t)(slots_[r].arrivals.load() - target) < 0) return r;
    return ranks_;
  }

  /**
   * Sleeps (one slice at most) until the first rank short of `target` arrives; true when every
   * rank had arrived before it slept. Counts itself in `sleepers` first (and fences every rank,
   * sleeper_fences_), so that any arrival after its look at the counters rings; one before it
   * changes the futex word, which the kernel then refuses to sleep on.
   */
  bool sleep_on(uint32_t target) {
    header_->sleepers.fetch_add(1);
    // Every running thread of the ranks' processes passes a full barrier: an arrival whose look
    // at `sleepers` missed the count above is visible to the look at the counters below.
    if (sleeper_fences_) syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0);
    uint32_t r = first_missing(target);
    if (r < ranks_) {
      uint32_t seen = slots_[r].arrivals.load();
      if ((int32_t)(seen - target) < 0) {
        timespec slice{0, kSliceNs};
        bool rung = syscall(SYS_futex, reinterpret_cast<uint32_t*>(&slots_[r].arrivals), FUTEX_WAIT, seen, &slice, nullptr, 0) == 0;
        bool ran_out = !rung && errno == ETIMEDOUT;
        // Counted where the sleep ended with every rank there: a wake that was missed shows as a
        // slice run out instead (test/native-board-wake.test.ts).
        if ((rung || ran_out) && everyone_at(target)) (rung ? sleeps_rung : sleeps_run_out).fetch_add(1, std::memory_order_relaxed);
      }
    }
    header_->sleepers.fetch_sub(1);
    return r == ranks_;
  }

  bool everyone_at(uint32_t target) const {
    for (uint32_t r = 0; r < ranks_; r++) if ((int32_t)(slots_[r].arrivals.load(std::memory_order_acquire) - target) < 0) return false;
    return true;
  }

  /** Which rank has not arrived, and whether it is dead. */
  std::string missing(uint32_t target, bool dead_only) const {
    for (uint32_t r = 0; r < ranks_; r++) {
      if ((int32_t)(slots_[r].arrivals.load() - target) >= 0) continue;
      pollfd gone{pidfds_[r], POLLIN, 0};
      bool dead = pidfds_[r] >= 0 ? poll(&gone, 1, 0) > 0 : !alive(slots_[r].pid);
      if (dead) return "board: rank " + std::to_string(r) + " (process " + std::to_string(slots_[r].pid) + ") died";
      if (!dead_only) return "board: rank " + std::to_string(r) + " did not arrive within the timeout";
    }
    return "";
  }

  /** Waits until every rank made `target` arrivals: spinning (JS thread) or on the futex (board thread). */
  Wait wait(Call& call, int64_t until, bool sleep) {
    if (!sleep && call.waits_here++ == hand_over_at_) return Wait::pending;
    if (!sleep || spins_) {
      // The peers are there already (the last rank to arrive): done with no clock read.
      if (everyone_at(call.target)) return Wait::done;
      // The JS thread: each wait polls up to call.spin, all of them until `until` (a small
      // call's first such wait starts its clock: run_here).
      const int64_t now = now_ns();
      if (!sleep && until == kClockLater) {
        start_clock(call, now);
        until = call.until_here;
      }
      int64_t end = sleep ? now + kThreadPollNs : std::min(until, now + call.spin);
      for (int polls = 0;; polls++) {
        if (everyone_at(call.target)) return Wait::done;
        if (now_ns() > end) break;
        if (polls >= kPollsBeforeYield) sched_yield();
      }
      if (!sleep) return Wait::pending;
    }
    for (;;) {
      if (sleep_on(call.target) || everyone_at(call.target)) return Wait::done;
      if (stopping()) return call.error = "board: closed during the call", Wait::failed;
      std::string why = missing(call.target, now_ns() <= call.deadline);
      if (!why.empty()) return call.error = why, broken_ = why, Wait::failed;
    }
  }

  /** Every rank's stamp for the current input phase is this call's: else the ranks run different calls. */
  bool same_call(Call& call) {
    uint32_t buffer = call.buffer;
    for (uint32_t r = 0; r < ranks_; r++) {
      uint64_t theirs = slots_[r].stamp[buffer].load(std::memory_order_relaxed);
      if (theirs != call.stamp) {
        call.error = "board: mismatch: rank " + std::to_string(r) + " runs another call (stamp " + std::to_string(theirs) + ") than rank " +
                     std::to_string(rank_) + " (stamp " + std::to_string(call.stamp) + ")";
        broken_ = call.error;
        return false;
      }
    }
    return true;
  }

  /**
   * Elements [lo, hi) of a chunk of `length` that rank `r` reduces: whole 64-byte units of the
   * call's nominal chunk (`call.step`), the last rank's possibly short, cut at `length`. Every
   * chunk of a call puts slice r at the same place, which the overlapped copy-in relies on
   * (advance): rank r's next copy-in never writes where the others still read its last slice.
   */
  void slice(const Call& call, size_t length, uint32_t r, size_t& lo, size_t& hi) const {
    size_t unit = kAlign / element_bytes(call.dtype);
    size_t per = ((call.step + ranks_ - 1) / ranks_ + unit - 1) / unit * unit;
    lo = std::min(length, per * r);
    hi = std::min(length, lo + per);
  }

  /**
   * x0 ⊕ x1 ⊕ ... ⊕ xn-1 of elements [lo, hi) of `buffer`'s lanes, finalized, into `out` and
   * (when given) `also`. This rank's own part is read from `mine` (the caller's elements, which
   * copy_in left out of its lane) where given. The fold runs in steps of kFoldStep bytes, each
   * step's running result (in `out`, or in `acc` where it cannot be) staying in L1 while every
   * lane's step is folded into it: the first two sources combined in one pass, then the rest
   * accumulated, so each lane byte is read once and each result byte written once per
   * destination, with no copy of a source into the result first nor of `out` into the lane
   * after. `out` may be `mine`: a step reads its part of `mine` before it writes it.
   */
  void fold(const Call& call, const uint8_t* mine, uint8_t* out, uint8_t* also, size_t lo, size_t hi, uint32_t buffer) const {
    const size_t e = element_bytes(call.dtype), bytes = (hi - lo) * e;
    if (hi <= lo) return;
    // A peer that published its host buffer (a large allreduce, Board::publishes) is read where its
    // elements lie, at this chunk's place in its view; the others from their lanes.
    auto source = [&](uint32_t r) -> const uint8_t* {
      if (r == rank_ && mine) return mine;
      return direct(call, r) ? direct(call, r) + (call.chunk + lo) * e : lane_of(call, r, buffer) + lo * e;
    };
    // The running result lives in `out` itself unless it must not: an average is finalized
    // from it into `out`, and an `out` that is `mine` would be overwritten by the first step
    // before a later step reads `mine` (rank 2 and up). Either way it stays in L1 per step.
    bool overlaps = mine && out < mine + bytes && mine < out + bytes;
    bool in_out = !call.average && (!overlaps || (out == mine && rank_ <= 1));
    alignas(kAlign) uint8_t acc[kFoldStep];
    for (size_t at = 0; at < bytes; at += kFoldStep) {
      size_t part = std::min(kFoldStep, bytes - at), count = part / e;
      uint8_t* running = in_out ? out + at : acc;
      // The first two sources in one pass (no copy of the first into the running result).
      if (ranks_ == 1) memmove(running, source(0) + at, part);
      else reduce_combine(call.dtype, call.op, running, source(0) + at, source(1) + at, count);
      for (uint32_t r = 2; r < ranks_; r++) reduce_accumulate(call.dtype, call.op, running, source(r) + at, count);
      if (call.average) finish_average(call.dtype, out + at, acc, count, ranks_);
      else if (!in_out) memcpy(out + at, acc, part);
      if (also) memcpy(also + at, out + at, part);
    }
  }

  /** Elements of `call`'s chunks walk through: its count, or one block's. */
  size_t span(const Call& call) const { return blocked(call) ? call.count / ranks_ : call.count; }
  static bool blocked(const Call& call) { return call.kind == Kind::reduce_scatter || call.kind == Kind::all_gather; }

  /**
   * Elements per chunk: a buffer's, or (reduce-scatter: n blocks side by side) an n-th of it. A
   * sliced call (a large allreduce or reduce) splits into equal chunks instead, in whole 64-byte
   * units, so that a ragged last chunk does not leave most ranks' slices of it empty (slices are
   * cut from the nominal chunk): 1.5 buffers go as two chunks of 0.75.
   */
  size_t chunk_elements(const Call& call) const {
    size_t elements = buffer_bytes_ / element_bytes(call.dtype);
    if (call.kind == Kind::reduce_scatter) return elements / ranks_;
    if (!sliced(call)) return elements;
    size_t chunks = (call.count + elements - 1) / elements, unit = kAlign / element_bytes(call.dtype);
    return std::min(elements, ((call.count + chunks - 1) / chunks + unit - 1) / unit * unit);
  }

  /** A large allreduce or reduce: each rank folds its slice of every chunk, and the slices are gathered. */
  bool sliced(const Call& call) const { return (call.kind == Kind::all_reduce || call.kind == Kind::reduce) && !one_arrival(call); }

  /** An allreduce or reduce small enough for one arrival, every rank (reduce: the root) folding every lane. */
  bool one_arrival(const Call& call) const {
    size_t bytes = call.count * element_bytes(call.dtype);
    return (size_t)(ranks_ - 1) * bytes <= kSmallBytes && bytes <= buffer_bytes_;
  }

  /**
   * This rank's elements of the chunk at `call.chunk`: an out-of-place allreduce's input (only
   * read: its result goes to the view, which copy_in and fold never read then), or the view.
   */
  const uint8_t* own_input(const Call& call) const { return (call.input ? call.input : call.data) + call.chunk * element_bytes(call.dtype); }

  /**
   * This rank's part of the chunk at `call.chunk` into its lane's current buffer: only what
   * other ranks read. A large allreduce's or reduce's slice of its own, and reduce-scatter's own
   * block, are folded by this rank alone, straight from the caller's elements (fold's `mine`).
   */
  void copy_in(const Call& call, size_t length) {
    const size_t e = element_bytes(call.dtype), block = span(call);
    uint8_t* to = lane(rank_, call.buffer);
    const uint8_t* from = own_input(call);
    switch (call.kind) {
      case Kind::reduce_scatter:
        for (uint32_t j = 0; j < ranks_; j++) if (j != rank_) memcpy(to + j * length * e, call.data + (j * block + call.chunk) * e, length * e);
        return;
      // A host buffer's owner copies nothing in: its peers read its view (use_lanes).
      case Kind::all_gather: if (!own_direct(call)) memcpy(to, call.data + (rank_ * block + call.chunk) * e, length * e); return;
      case Kind::broadcast: if (rank_ == call.root && !own_direct(call)) memcpy(to, from, length * e); return;
      default: break;
    }
    if (one_arrival(call)) return (void)memcpy(lane_of(call, rank_, call.buffer), from, length * e);
    // A large allreduce or reduce from a host buffer: the peers fold its elements straight from there.
    if (own_direct(call)) return;
    size_t lo, hi;
    slice(call, length, rank_, lo, hi);
    memcpy(to, from, lo * e);
    memcpy(to + hi * e, from + hi * e, (length - hi) * e);
  }

  /**
   * After every rank arrived with the chunk: what this rank does with the lanes. True: the chunk
   * is done; false: a large allreduce or reduce, which published its slice and needs the others'
   * (advance: the next chunk's arrival, or one more after the last, says they are there).
   */
  bool use_lanes(Call& call, size_t length) {
    const size_t e = element_bytes(call.dtype), block = span(call);
    uint8_t* data = call.data + call.chunk * e;
    switch (call.kind) {
      case Kind::reduce_scatter: {
        uint8_t* own = call.data + (rank_ * block + call.chunk) * e;
        fold(call, own, call.output ? call.output + call.chunk * e : own, nullptr, rank_ * length, (rank_ + 1) * length, call.buffer);
        return true;
      }
      case Kind::all_gather:
        for (uint32_t j = 0; j < ranks_; j++) {
          if (j == rank_) continue;
          size_t at = (j * block + call.chunk) * e;
          memcpy(call.data + at, direct(call, j) ? direct(call, j) + at : lane(j, call.buffer), length * e);
        }
        return true;
      case Kind::broadcast:
        if (rank_ != call.root) memcpy(data, direct(call, call.root) ? direct(call, call.root) + call.chunk * e : lane(call.root, call.buffer), length * e);
        return true;
      default: break;
    }
    if (one_arrival(call)) {
      if (call.kind == Kind::all_reduce || rank_ == call.root) fold(call, own_input(call), data, nullptr, 0, length, call.buffer);
      return true;
    }
    // The chunk before: every rank published its slice before it arrived with this one.
    if (call.chunk > 0) gather_slices(call, call.chunk - call.step, call.step, call.buffer ^ 1);
    // This rank's slice: into the caller's elements where they get the result (allreduce, the
    // reduce's root) and into its lane where other ranks read it (allreduce, a reduce's others).
    size_t lo, hi;
    slice(call, length, rank_, lo, hi);
    uint8_t* published = lane(rank_, call.buffer) + lo * e;
    const uint8_t* mine = own_input(call) + lo * e;
    if (call.kind == Kind::all_reduce) fold(call, mine, data + lo * e, published, lo, hi, call.buffer);
    else fold(call, mine, rank_ == call.root ? data + lo * e : published, nullptr, lo, hi, call.buffer);
    return false;
  }

  /** A large allreduce's (a reduce's root's) chunk at `at` of `length`: every other rank's reduced slice out of its lane's `buffer`. */
  void gather_slices(const Call& call, size_t at, size_t length, uint32_t buffer) {
    if (call.kind == Kind::reduce && rank_ != call.root) return;
    const size_t e = element_bytes(call.dtype);
    uint8_t* data = call.data + at * e;
    for (uint32_t r = 0; r < ranks_; r++) {
      if (r == rank_) continue;
      size_t lo, hi;
      slice(call, length, r, lo, hi);
      memcpy(data + lo * e, lane(r, buffer) + lo * e, (hi - lo) * e);
    }
  }

  /** Arrives with `call`'s input phase (its stamp in buffer call.buffer's slot); stage 1 waits for every rank's. */
  void arrive_with_input(Call& call) {
    arrive(call.stamp, true);
    input_phases_++;
    call.target = arrivals_;
    call.stage = 1;
  }

  /** Waits for every rank's input arrival, then checks that they all run this call. */
  Wait wait_for_input(Call& call, int64_t until, bool sleep) {
    Wait w = wait(call, until, sleep);
    if (w != Wait::done) return w;
    return same_call(call) ? Wait::done : Wait::failed;
  }

  /**
   * Whether `call` publishes its host buffer (if its view lies in one): an allgather whose block
   * fills a lane buffer, a broadcast whose data takes more than one, or one by single copy.
   * Below that the lanes win: one arrival per call against the direct path's two, and their
   * extra copy of a block that fits a lane buffer is cheaper than that arrival (a 256 KiB block:
   * ~15 µs of copy against ~150-250 µs of arrival at 4 ranks on 2 cores). From a block of one
   * buffer, every allgather rank saves its copy of a whole buffer, which measured more than the
   * arrival (docs/PERFORMANCE.md, hb12); a broadcast saves only the root's, and gains from two
   * buffers, where the lanes arrive twice too. A large allreduce (in place: BoardRun) from more
   * than one buffer: it costs no arrival there, and each owner saves its copy-in.
   */
  bool publishes(const Call& call) const {
    const uint64_t bytes = (uint64_t)span(call) * element_bytes(call.dtype);
    if (call.kind == Kind::all_reduce || call.kind == Kind::reduce) return sliced(call) && bytes > buffer_bytes_;
    if (call.kind != Kind::all_gather && call.kind != Kind::broadcast) return false;
    return (call.kind == Kind::all_gather ? bytes >= buffer_bytes_ : bytes > buffer_bytes_) || single_copy(call);
  }

  /** This rank published a host buffer for `call`: its peers read its view there, and it copies nothing into its lane. */
  bool own_direct(const Call& call) const { return call.own_ref.serial != 0 && publishes(call); }

  /** Whether the others read rank `r`'s view in `call`: every rank's block (allgather), every rank's elements (allreduce, reduce), the root's data (broadcast). */
  static bool read_from(const Call& call, uint32_t r) { return call.kind == Kind::all_gather || call.kind == Kind::all_reduce || call.kind == Kind::reduce || r == call.root; }

  /**
   * advance_single_copy's path: an allgather or broadcast by single copy, or one every rank read
   * from has a host buffer for. Not an allreduce: its peers fold its elements from its buffer
   * chunk by chunk and gather the slices from the lanes even then. Folding the whole call as one
   * chunk and gathering the slices from the owners' buffers (three arrivals a call) measured
   * slower from 4 MiB (docs/PERFORMANCE.md, hbfold23): its reads of the peers' slices come
   * from memory, where the lanes' come from cache.
   */
  bool single_copy_path(const Call& call) const { return single_copy(call) || (call.direct_all && !folds_direct(call)); }

  /** An allreduce or reduce: its peers fold a published view chunk by chunk (fold's sources), never advance_single_copy. */
  static bool folds_direct(const Call& call) { return call.kind == Kind::all_reduce || call.kind == Kind::reduce; }

  /** Rank `r`'s view mapped from its host buffer (resolve_sources), or null: read its lane (or by process_vm_readv). */
  static const uint8_t* direct(const Call& call, uint32_t r) { return call.source.empty() ? nullptr : call.source[r]; }

  /** Writes this rank's host buffer of `call` (or none) into its slot for the input phase about to start. */
  void publish(const Call& call) {
    const HostBufferRef& ref = call.own_ref;
    Published& out = slots_[rank_].published[input_phases_ & 1];
    bool mine = own_direct(call);
    out = Published{mine ? ref.serial : 0, ref.inode, ref.buffer_bytes, ref.offset, call.count * element_bytes(call.dtype), ref.fd};
  }

  /** Unmaps rank `r`'s host buffers it announced freed since this rank last looked (all of them if it lost count). */
  void forget_freed(uint32_t r) {
    uint64_t count = slots_[r].freed_count.load(std::memory_order_acquire), seen = freed_seen_[r];
    if (count == seen) return;
    bool lost = count - seen > kFreedRing;
    for (uint64_t i = seen; i < count && !lost; i++) unmap(r, slots_[r].freed[i % kFreedRing].load(std::memory_order_relaxed));
    // The owner may have freed past the ring while it was read: then drop every mapping of r (remapped when used).
    if (lost || slots_[r].freed_count.load(std::memory_order_acquire) - seen > kFreedRing) {
      for (auto it = mapped_.begin(); it != mapped_.end();) {
        if (it->first.first != r) { ++it; continue; }
        munmap(it->second.first, it->second.second);
        it = mapped_.erase(it);
      }
    }
    freed_seen_[r] = count;
  }

  void unmap(uint32_t r, uint64_t serial) {
    auto it = mapped_.find({r, serial});
    if (it == mapped_.end()) return;
    munmap(it->second.first, it->second.second);
    mapped_.erase(it);
  }

  /**
   * After the first input arrival of a call that publishes: where this rank reads each peer's
   * view from (its host buffer, mapped on first use and cached, or not) and which path every
   * rank takes, decided alike everywhere from the published slots: every rank read from
   * published one: direct_all (advance_single_copy's two arrivals); some did: direct_any (the
   * lanes for the others, one more arrival at the end); none: the lanes unchanged.
   */
  bool resolve_sources(Call& call) {
    if (read_delay_us_ > 0) usleep((useconds_t)read_delay_us_);  // the test hook: before any mapping or read
    call.resolved = true;
    call.source.assign(ranks_, nullptr);
    const size_t bytes = call.count * element_bytes(call.dtype);
    bool all = true, any = false;
    for (uint32_t r = 0; r < ranks_; r++) {
      if (r != rank_) forget_freed(r);
      if (!read_from(call, r)) continue;
      const Published& theirs = slots_[r].published[call.buffer];
      if (theirs.serial == 0) {
        all = false;
        continue;
      }
      any = true;
      if (r == rank_) continue;
      if (theirs.view_bytes != bytes) {
        call.error = broken_ = "board: mismatch: rank " + std::to_string(r) + "'s view holds " + std::to_string(theirs.view_bytes) + " bytes, rank " +
                               std::to_string(rank_) + "'s " + std::to_string(bytes);
        return false;
      }
      // Checked on every call, not only when first mapped: a cached mapping is read at this
      // call's offset, and a slot that says otherwise must not make this rank read past it.
      const bool inside = theirs.offset <= theirs.buffer_bytes && theirs.view_bytes <= theirs.buffer_bytes - theirs.offset;
      auto it = mapped_.find({r, theirs.serial});
      if (it != mapped_.end() && (!inside || it->second.second != theirs.buffer_bytes)) {
        call.error = broken_ = "board: rank " + std::to_string(r) + "'s host buffer view lies outside the buffer it mapped";
        return false;
      }
      if (it == mapped_.end()) {
        std::string why;
        HostBufferRef ref{theirs.serial, theirs.fd, theirs.inode, theirs.buffer_bytes, theirs.offset};
        uint8_t* base = inside ? map_peer_host_buffer(slots_[r].pid, ref, why) : nullptr;
        if (!base) {
          std::string dead = missing_dead(r);
          call.error = broken_ = !dead.empty() ? dead : "board: mapping rank " + std::to_string(r) + "'s host buffer: " + (why.empty() ? "its view lies outside it" : why);
          return false;
        }
        it = mapped_.emplace(std::make_pair(r, theirs.serial), std::make_pair(base, (size_t)theirs.buffer_bytes)).first;
      }
      call.source[r] = it->second.first + theirs.offset;
    }
    call.direct_all = all;
    call.direct_any = any;
    if (all) host_buffer_calls.fetch_add(1, std::memory_order_relaxed);
    else if (any) host_buffer_mixed_calls.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  /** "board: rank r (process p) died" when rank `r` is gone, else "". */
  std::string missing_dead(uint32_t r) const {
    pollfd gone{pidfds_[r], POLLIN, 0};
    bool dead = pidfds_[r] >= 0 ? poll(&gone, 1, 0) > 0 : !alive(slots_[r].pid);
    return dead ? "board: rank " + std::to_string(r) + " (process " + std::to_string(slots_[r].pid) + ") died" : "";
  }

  /**
   * Whether `call` reads straight from its peers' views (advance_single_copy): an allgather or a
   * broadcast whose every read (a block, the whole data) reaches the agreed threshold.
   */
  bool single_copy(const Call& call) const {
    if (call.kind != Kind::all_gather && call.kind != Kind::broadcast) return false;
    return (uint64_t)span(call) * element_bytes(call.dtype) >= single_copy_from_;
  }

  /**
   * An allgather or broadcast by single copy, two arrivals whatever its size: publish where the
   * view lies (stage 0), then, once every rank did, read what this rank lacks straight from its
   * owners' views into its own with process_vm_readv (allgather: every other block from its
   * rank; broadcast: the root's data) and arrive again (stage 1); return only once every rank
   * arrived that second time (stage 2), so that no owner reuses or frees its view while a peer
   * still reads it. The slots' address is safe to rewrite at the next publish: every peer read
   * it before that second arrival.
   */
  Wait advance_single_copy(Call& call, int64_t until, bool sleep) {
    const size_t e = element_bytes(call.dtype), block = span(call) * e;
    switch (call.stage) {
      case 0:
        slots_[rank_].address = reinterpret_cast<uint64_t>(call.data);
        slots_[rank_].bytes = call.count * e;
        call.buffer = input_phases_ & 1;
        publish(call);
        arrive_with_input(call);
        [[fallthrough]];
      case 1: {
        Wait w = wait_for_input(call, until, sleep);
        if (w != Wait::done) return w;
        if (!call.resolved && !resolve_sources(call)) return Wait::failed;
        for (uint32_t r = 0; r < ranks_; r++) {
          if (r == rank_ || !read_from(call, r)) continue;
          size_t at = call.kind == Kind::all_gather ? r * block : 0;
          if (direct(call, r)) {
            memcpy(call.data + at, direct(call, r) + at, block);
            continue;
          }
          if (slots_[r].bytes != call.count * e) {
            call.error = broken_ = "board: mismatch: rank " + std::to_string(r) + "'s view holds " + std::to_string(slots_[r].bytes) + " bytes, rank " +
                                   std::to_string(rank_) + "'s " + std::to_string(call.count * e);
            return Wait::failed;
          }
          std::string failed = read_peer(slots_[r].pid, call.data + at, slots_[r].address + at, block);
          if (read_peer_errno() == ESRCH) failed = "board: rank " + std::to_string(r) + " (process " + std::to_string(slots_[r].pid) + ") died";
          else if (!failed.empty()) failed = "board: reading rank " + std::to_string(r) + "'s view: " + failed;
          if (!failed.empty()) return call.error = broken_ = failed, Wait::failed;
        }
        if (!call.direct_all) single_copy_calls.fetch_add(1, std::memory_order_relaxed);
        arrive(call.stamp, false);
        call.target = arrivals_;
        call.stage = 2;
        [[fallthrough]];
      }
      case 2: {
        Wait w = wait(call, until, sleep);
        if (w != Wait::done) return w;
        call.chunk = span(call);
        return Wait::done;
      }
    }
    return Wait::done;
  }

  /** Runs `call` from where it stands until done, failed, or (JS thread) `until`. */
  Wait advance(Call& call, int64_t until, bool sleep) {
    if (!broken_.empty()) return call.error = broken_, Wait::failed;
    if (ranks_ > 1 && single_copy_path(call)) return advance_single_copy(call, until, sleep);
    const size_t total = span(call);
    if (call.step == 0) call.step = chunk_elements(call);
    while (call.chunk < total) {
      size_t length = std::min(call.step, total - call.chunk);
      // The JS thread's time is up: the board thread makes the next chunk's copies.
      if (!sleep && call.stage == 0 && call.chunk > 0 && now_ns() > until) return Wait::pending;
      switch (call.stage) {
        case 0:  // copy in, arrive
          call.buffer = input_phases_ & 1;
          if (call.chunk == 0 && publishes(call)) publish(call);
          copy_in(call, length);
          arrive_with_input(call);
          [[fallthrough]];
        case 1: {
          Wait w = wait_for_input(call, until, sleep);
          if (w != Wait::done) return w;
          if (call.chunk == 0 && publishes(call) && !call.resolved) {
            if (!resolve_sources(call)) return Wait::failed;
            // Every rank read from has a host buffer: none copied in, all read straight from there.
            if (single_copy_path(call)) return advance_single_copy(call, until, sleep);
          }
          // The test hook's slow reader, again before it folds the last chunk: an owner of a host
          // buffer that returned without waiting for this fold would have let its user overwrite
          // the elements read here (test/board-host-reduce.test.ts, the slow root).
          if (read_delay_us_ > 0 && call.direct_any && folds_direct(call) && call.chunk + length >= total) usleep((useconds_t)read_delay_us_);
          if (!use_lanes(call, length)) {
            // Sliced: the next chunk's arrival (its copy-in made) also says that this chunk's
            // slice is published, one arrival a chunk; the last chunk's takes one of its own.
            // A reduce's other ranks gather nothing, so they do not wait for it, unless some
            // rank's elements were folded from its host buffer: the owner may not return (and
            // let its user overwrite them) before every rank folded the last chunk, which this
            // arrival says, and direct_any is alike on every rank (resolve_sources).
            if (call.chunk + length < total) break;
            arrive(call.stamp, false);
            call.target = arrivals_;
            if (call.kind == Kind::reduce && rank_ != call.root && !call.direct_any) break;
            call.stage = 2;
            continue;
          }
          break;
        }
        case 2: {
          Wait w = wait(call, until, sleep);
          if (w != Wait::done) return w;
          gather_slices(call, call.chunk, length, call.buffer);
        }
      }
      call.chunk += length;
      call.stage = 0;
    }
    // Some ranks' views were read from their host buffers: they may not return (and let their
    // user overwrite them) before every reader is done, which one more arrival says. An
    // allreduce or reduce reads them only as it folds, which the arrival after its last chunk
    // already says is over (its slices are gathered from the lanes; a reduce's other ranks wait
    // for that arrival too, above).
    if (call.direct_any && ranks_ > 1 && !folds_direct(call)) {
      if (call.tail == 0) {
        arrive(call.stamp, false);
        call.target = arrivals_;
        call.tail = 1;
      }
      return wait(call, until, sleep);
    }
    return Wait::done;
  }
};

/** Host buffer `serial` of this process was freed: every attached board announces it to its peers. */
void announce_freed(uint64_t serial) {
  std::lock_guard<std::mutex> lock(live_boards_mutex);
  for (Board* board : live_boards) board->announce_freed(serial);
}

// ---- N-API ----------------------------------------------------------------------------------

/** Completes a call the board thread ran: onComplete(id, error | null) on the JS thread. */
void deliver(napi_env env, napi_value callback, void* context, void* data) {
  std::unique_ptr<Call> call(static_cast<Call*>(data));
  if (!env) return;
  auto* board = static_cast<Board*>(context);
  if (call->keep) napi_delete_reference(env, call->keep);
  if (call->keep_output) napi_delete_reference(env, call->keep_output);
  if (call->keep_input) napi_delete_reference(env, call->keep_input);
  call->own_buffer.reset();  // the host buffer may be freed once the call's promise settles
  if (--board->pending_refs == 0 && !board->closed()) napi_unref_threadsafe_function(env, board->completions);
  napi_value args[2], undefined;
  napi_get_undefined(env, &undefined);
  napi_create_double(env, call->id, &args[0]);
  if (call->error.empty()) napi_get_null(env, &args[1]);
  else napi_create_string_utf8(env, call->error.c_str(), call->error.size(), &args[1]);
  napi_call_function(env, undefined, callback, 2, args, nullptr);
}

Board* board_of(napi_env env, napi_value self, const char* what) {
  void* object = nullptr;
  if (napi_unwrap(env, self, &object) != napi_ok || !object) return fail(env, std::string(what) + ": not a board"), nullptr;
  auto* board = static_cast<Board*>(object);
  if (board->closed()) return fail(env, std::string(what) + ": the board was closed"), nullptr;
  return board;
}

/**
 * new Board(name, rank, ranks, bufferBytes, timeoutMs, onComplete, singleCopyBytes, spinNs):
 * starts attaching on its thread. timeoutMs bounds attaching and each call; singleCopyBytes:
 * this rank's single-copy threshold (0: never), agreed with every rank's at attach
 * (Board::agree_single_copy); spinNs: how long each wait of run() on the JS thread polls before
 * it hands the call to the board's thread.
 */
napi_value BoardRun(napi_env env, napi_callback_info info);

napi_value BoardNew(napi_env env, napi_callback_info info) {
  Args args;
  std::string name;
  uint64_t rank, ranks, buffer_bytes, timeout_ms, single_copy_bytes, spin_ns;
  if (!get_args(env, info, args, 8, "new Board(name, rank, ranks, bufferBytes, timeoutMs, onComplete, singleCopyBytes, spinNs)") || !get_string(env, args.values[0], name, "name") ||
      !get_index(env, args.values[1], rank, "rank") || !get_index(env, args.values[2], ranks, "ranks") ||
      !get_index(env, args.values[3], buffer_bytes, "bufferBytes") || !get_index(env, args.values[4], timeout_ms, "timeoutMs") ||
      !get_index(env, args.values[6], single_copy_bytes, "singleCopyBytes") || !get_index(env, args.values[7], spin_ns, "spinNs")) {
    return nullptr;
  }
  if (ranks < 1 || ranks > 1024 || rank >= ranks) return fail(env, "board: rank " + std::to_string(rank) + " of " + std::to_string(ranks) + " is out of range"), nullptr;
  if (buffer_bytes < kAlign || buffer_bytes % kAlign != 0 || buffer_bytes > (1ull << 30)) return fail(env, "board: bufferBytes must be a multiple of 64 up to 1 GiB"), nullptr;
  // Reduce-scatter puts a chunk of every rank's block in one buffer: at least one 4-byte element each.
  if (buffer_bytes < ranks * 4) return fail(env, "board: bufferBytes must hold a 4-byte element per rank"), nullptr;
  if (name.empty() || name[0] != '/') return fail(env, "board: the segment name must start with /"), nullptr;
  napi_valuetype type;
  napi_typeof(env, args.values[5], &type);
  if (type != napi_function) return fail(env, "board: onComplete must be a function"), nullptr;
  if (timeout_ms > (1ull << 40) || spin_ns > (1ull << 50)) return fail(env, "board: timeoutMs or spinNs out of range"), nullptr;
  auto* board = new Board(name, (uint32_t)rank, (uint32_t)ranks, buffer_bytes, (int64_t)timeout_ms * 1000000, single_copy_bytes, (int64_t)spin_ns);
  napi_value queue_name;
  napi_create_string_utf8(env, "webccl board", NAPI_AUTO_LENGTH, &queue_name);
  if (napi_create_threadsafe_function(env, args.values[5], nullptr, queue_name, 0, 1, nullptr, nullptr, board, deliver, &board->completions) != napi_ok) {
    delete board;
    return fail(env, "board: could not create its completion queue"), nullptr;
  }
  napi_unref_threadsafe_function(env, board->completions);
  // run is this board's own function, which finds the board in its data: no napi_unwrap (a
  // private-symbol lookup) per call. The board is never freed (below), so the pointer stays valid.
  napi_value run;
  if (napi_create_function(env, "run", NAPI_AUTO_LENGTH, BoardRun, board, &run) != napi_ok || napi_set_named_property(env, args.self, "run", run) != napi_ok) {
    return fail(env, "board: could not make its run method"), nullptr;
  }
  // Collected without close(): its thread may still run, so the memory is leaked on purpose
  // rather than freed under it (the communicator closes every board it opens).
  napi_wrap(env, args.self, board, [](napi_env, void*, void*) {}, nullptr, nullptr);
  board->start();
  return args.self;
}

/**
 * run(id, view, code, stamp[, output[, input]]) → true when done here; false: onComplete(id,
 * error) follows. `code` packs what the call is, as integers (lib/native/board.ts's runCode;
 * parsing their names cost ~0.2 µs per call): kind (kKindNames' index) | dtype << 3 (reduce.h's
 * DType) | op << 6 (Op) | average << 8 | root << 9. The view is the call's elements, in place:
 * an allreduce's or reduce's input (the result: everywhere, or on root), reduce-scatter's n
 * blocks (block rank gets the result, or `output` where given: one block, and the view is only
 * read), allgather's n blocks (block rank filled), broadcast's data (root's is read). `input`
 * (allreduce only): the elements to reduce, read and never written, the view then only
 * written: an out-of-place call with no copy of its own first.
 */
napi_value BoardRun(napi_env env, napi_callback_info info) {
  Args args;
  if (napi_get_cb_info(env, info, &args.count, args.values, &args.self, &args.data) != napi_ok) return fail(env, "bad call"), nullptr;
  if (args.count < 4) return fail(env, "run(id, view, code, stamp[, output[, input]]): expected 4 arguments, got " + std::to_string(args.count)), nullptr;
  auto* board = static_cast<Board*>(args.data);
  if (board->closed()) return fail(env, "run: the board was closed"), nullptr;
  uint8_t* data;
  size_t length;
  uint64_t code;
  double id = 0, stamp = 0;
  if (!get_bytes(env, args.values[1], data, length, "view") || !get_index(env, args.values[2], code, "code")) return nullptr;
  napi_get_value_double(env, args.values[0], &id);
  napi_get_value_double(env, args.values[3], &stamp);
  uint64_t kind_code = code & 7, dtype_code = (code >> 3) & 7, op_code = (code >> 6) & 3, root = code >> 9;
  bool average = (code >> 8) & 1;
  if (kind_code >= sizeof kKindNames / sizeof kKindNames[0]) return fail(env, "board: kind code " + std::to_string(kind_code) + " is not a collective of the board"), nullptr;
  if (dtype_code > (uint64_t)DType::u32) return fail(env, "board: dtype code " + std::to_string(dtype_code) + " is not a dtype of the board"), nullptr;
  Kind kind = (Kind)kind_code;
  DType dtype = (DType)dtype_code;
  if (length % element_bytes(dtype) != 0) return fail(env, "board: the view is not a whole number of elements"), nullptr;
  size_t count = length / element_bytes(dtype);
  if (root >= board->ranks()) return fail(env, "board: root " + std::to_string(root) + " is not a rank of " + std::to_string(board->ranks())), nullptr;
  if ((kind == Kind::reduce_scatter || kind == Kind::all_gather) && count % board->ranks() != 0) {
    return fail(env, "board: " + std::string(kKindNames[(int)kind]) + "'s view of " + std::to_string(count) + " elements is not " + std::to_string(board->ranks()) + " equal blocks"), nullptr;
  }
  auto given = [&](size_t at) {
    napi_valuetype type = napi_undefined;
    if (args.count > at) napi_typeof(env, args.values[at], &type);
    return type != napi_undefined && type != napi_null;
  };
  uint8_t* output = nullptr;
  if (given(4)) {
    size_t output_length;
    if (!get_bytes(env, args.values[4], output, output_length, "output")) return nullptr;
    if (kind != Kind::reduce_scatter) return fail(env, "board: a separate output is for reduceScatter only, not " + std::string(kKindNames[(int)kind])), nullptr;
    size_t block_bytes = length / board->ranks();
    if (output_length != block_bytes) return fail(env, "board: reduceScatter's output of " + std::to_string(output_length) + " bytes is not one block (" + std::to_string(block_bytes) + " bytes)"), nullptr;
  }
  uint8_t* input = nullptr;
  if (given(5)) {
    size_t input_length;
    if (!get_bytes(env, args.values[5], input, input_length, "input")) return nullptr;
    if (kind != Kind::all_reduce) return fail(env, "board: a separate input is for allReduce only, not " + std::string(kKindNames[(int)kind])), nullptr;
    if (input_length != length) return fail(env, "board: allReduce's input of " + std::to_string(input_length) + " bytes is not the view's " + std::to_string(length)), nullptr;
    if (input < data + length && data < input + length) return fail(env, "board: allReduce's input overlaps its view (pass the view alone to run in place)"), nullptr;
  }
  if (board->busy.load(std::memory_order_acquire)) return fail(env, "board: a call is already in flight"), nullptr;
  // Filled here, on the stack: the heap holds only a call handed over to the board's thread.
  Call here;
  here.id = id;
  here.data = data;
  here.input = input;
  here.count = count;
  here.output = output;
  here.kind = kind;
  here.root = (uint32_t)root;
  here.dtype = dtype;
  here.op = (Op)op_code;
  here.average = average;
  here.stamp = (uint64_t)stamp;
  // Set where the call first reads the clock (Board::run_here, Board::hand_over).
  here.deadline = kClockLater;
  // A view in a host buffer (allocHostBuffer): held in use, and published where the call is large enough (Board::publishes).
  // An allreduce in place only, or a reduce: its view is then what its peers fold (an out-of-place allreduce publishes none).
  bool may_publish = kind == Kind::all_gather || kind == Kind::broadcast || kind == Kind::reduce || (kind == Kind::all_reduce && input == nullptr);
  if (may_publish && board->ranks() > 1) here.own_buffer = use_host_buffer(data, length, here.own_ref);
  napi_value result;
  // Every call begins here, once attached (until then the board thread owns the segment): a
  // small one for up to spin_ns, a large one for up to kHereNs (Board::run_here).
  if (board->attached.load(std::memory_order_acquire)) {
    Wait w = board->run_here(here, board->spin_ns);
    if (w != Wait::pending) {
      const std::string& error = w == Wait::failed ? here.error : board->broken();
      if (!error.empty()) return fail(env, error), nullptr;
      napi_get_boolean(env, true, &result);
      return result;
    }
  }
  auto* call = new Call(std::move(here));
  napi_ref* keeps[] = {&call->keep, &call->keep_output, &call->keep_input};
  napi_value held[] = {args.values[1], output ? args.values[4] : nullptr, input ? args.values[5] : nullptr};
  for (size_t k = 0; k < 3; k++) {
    if (held[k] == nullptr || napi_create_reference(env, held[k], 1, keeps[k]) == napi_ok) continue;
    for (size_t j = 0; j < k; j++) if (*keeps[j]) napi_delete_reference(env, *keeps[j]);
    return delete call, fail(env, "board: could not hold the call's arrays"), nullptr;
  }
  if (board->pending_refs++ == 0) napi_ref_threadsafe_function(env, board->completions);
  board->busy.store(true, std::memory_order_release);
  board->hand_over(call);
  napi_get_boolean(env, false, &result);
  return result;
}

/** singleCopy() → null while attaching; then { fromBytes: the agreed threshold, or null and `off`: why not }. */
napi_value BoardSingleCopy(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, args, 0, "singleCopy()")) return nullptr;
  Board* board = board_of(env, args.self, "singleCopy");
  if (!board) return nullptr;
  napi_value result, from, off;
  if (!board->attached.load(std::memory_order_acquire) || !board->broken().empty()) return napi_get_null(env, &result), result;
  napi_create_object(env, &result);
  if (board->single_copy_from() == kNever) napi_get_null(env, &from);
  else napi_create_double(env, (double)board->single_copy_from(), &from);
  napi_create_string_utf8(env, board->single_copy_off().c_str(), board->single_copy_off().size(), &off);
  napi_set_named_property(env, result, "fromBytes", from);
  napi_set_named_property(env, result, "off", off);
  return result;
}

/** arrivalFence() → null while attaching; then "" where arrivals are plain stores (a sleeper fences every rank), else why each arrival fences. */
napi_value BoardArrivalFence(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, args, 0, "arrivalFence()")) return nullptr;
  Board* board = board_of(env, args.self, "arrivalFence");
  if (!board) return nullptr;
  napi_value result;
  if (!board->attached.load(std::memory_order_acquire) || !board->broken().empty()) return napi_get_null(env, &result), result;
  napi_create_string_utf8(env, board->arrival_fence().c_str(), board->arrival_fence().size(), &result);
  return result;
}

/** boardCounters() → { singleCopyCalls, hostBufferCalls, hostBufferMixedCalls, sleepsRung, sleepsRunOut }: this process's counts so far. */
napi_value BoardCounters(napi_env env, napi_callback_info) {
  napi_value result;
  napi_create_object(env, &result);
  set_number(env, result, "singleCopyCalls", (double)single_copy_calls.load());
  set_number(env, result, "hostBufferCalls", (double)host_buffer_calls.load());
  set_number(env, result, "hostBufferMixedCalls", (double)host_buffer_mixed_calls.load());
  set_number(env, result, "sleepsRung", (double)sleeps_rung.load());
  set_number(env, result, "sleepsRunOut", (double)sleeps_run_out.load());
  return result;
}

/** close(): fails a call in flight, joins the thread, unmaps; idempotent. */
napi_value BoardClose(napi_env env, napi_callback_info info) {
  auto* board = closing_object<Board>(env, info);
  if (!board || board->closed()) return nullptr;
  board->close();
  napi_release_threadsafe_function(board->completions, napi_tsfn_release);
  return nullptr;
}

}  // namespace

napi_value init_board(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {method("close", BoardClose), method("singleCopy", BoardSingleCopy), method("arrivalFence", BoardArrivalFence)};
  napi_value constructor;
  if (napi_define_class(env, "Board", NAPI_AUTO_LENGTH, BoardNew, nullptr, 3, methods, &constructor) != napi_ok) return exports;
  napi_set_named_property(env, exports, "Board", constructor);
  napi_value counters;
  napi_create_function(env, "boardCounters", NAPI_AUTO_LENGTH, BoardCounters, nullptr, &counters);
  napi_set_named_property(env, exports, "boardCounters", counters);
  set_host_buffer_freed_listener(announce_freed);
  return exports;
}

}  // namespace webccl
