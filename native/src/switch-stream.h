// One switch allreduce run natively on the worker socket's receive thread (switch-worker.cc),
// the way SwitchML's C++/DPDK worker runs its window: send the first packets of the window,
// and on each result dequantize it into the output and send the slot's next packet; per-slot
// timers repair loss. The same stream as lib/switch/allreduce-stream.ts for int32, for float32
// with agreed exponents (no lead: packet q carries chunk q, exponent fields at the lowest), and
// for float32 that agrees its exponents in the stream (SwitchML's lead, `agreed` null: packet q
// carries the exponents of chunk q and the data of chunk q - L, L = min(W, chunks), the first L
// as headers alone where the switch takes them), and the same loss recovery and congestion control as lib/switch/worker.ts (its top
// comment says why each rule is there): RACK-style loss detection with a reordering window of
// retransmitMs (first sends stamped in strictly increasing time), one probe per wait without a
// result for a stall (the wait doubling per probe until a round-trip sample), every overdue
// packet after STALLED waits (and twice the longest round trip seen), waits
// of max(retransmitMs, srtt + 4 rttvar) doubled per resend up to 1 s, and AIMD on a cwnd that
// never drops below W/n and persists across calls (Pacing). Results of another job, for a slot
// with nothing in flight or of another packet id or copy are counted and dropped.
// Nothing here calls N-API: the socket hands in bytes and the clock, and reads the end.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <vector>

#include "switchml-codec.h"
#include "udp-offload.h"

namespace webccl {

struct StreamParams {
  uint8_t job = 0;
  uint32_t slot_base = 0, window = 1, size_class = 0, workers = 1, divisor = 1;
  uint64_t base_seq = 0;
  size_t count = 0;
  bool is_float = false;
  bool exponents_only = false;  // the switch takes header-only packets (the welcome's flag)
  double retransmit_ms = 10, timeout_ms = 10000;
  const uint32_t* input = nullptr;  // count int32s or float32s
  uint32_t* output = nullptr;       // count, the input itself or disjoint from it
  const int32_t* agreed = nullptr;  // float32: one exponent per half packet; null: agreed in the stream (the lead)
};

struct StreamCounters {
  double sent = 0, retransmitted = 0, results = 0, duplicates = 0, wrong_job = 0, malformed = 0, window_cuts = 0, probes = 0;
  double early_flushes = 0;  // start()'s sends before the first window was all encoded
};

/** What one worker learns about the path and keeps across calls (worker.ts's srtt, rttvar, cwnd). */
struct Pacing {
  double srtt = 0, rttvar = 0, cwnd = 0, ssthresh = 0, last_cut = -std::numeric_limits<double>::infinity();
  double longest_delay = 0;  // worker.ts's longestDelay
};

enum class StreamEnd { running, done, timeout, ended, closed };

/**
 * When a stream's phases happened (now_ms's clock, CLOCK_MONOTONIC, as lib/switch/call-trace.ts
 * reads them; -1: not yet): a few stores per call, handed to JS with the counters.
 */
struct StreamTimes {
  double cwnd = 0;  // the congestion window the stream started with
  double started = -1, lead_done = -1, first_data_send = -1, first_result = -1, last_first_send = -1, last_result = -1, ended = -1;
};

/** One packet buffer per local slot for the socket's life (as SlotPackets), values 4-byte aligned. */
struct SlotBuffers {
  std::vector<uint8_t> memory;
  size_t stride = 0, length = 0;
  uint32_t window = 0, size_class = 0;

  uint8_t* packet(uint32_t slot) { return memory.data() + slot * stride + 2; }
  /** The bytes slot's packet goes out as: the whole packet, or its header alone (an exponents-only packet). */
  size_t sent_length(uint32_t slot) const { return lengths[slot]; }
  std::vector<size_t> lengths;
  void shape(uint32_t w, uint32_t cls) {
    if (w == window && cls == size_class) return;
    window = w;
    size_class = cls;
    length = 10 + 4 * ((size_t)32 << cls);
    stride = (length + 2 + 3) & ~(size_t)3;
    memory.assign(stride * w + 4, 0);
    lengths.assign(w, length);
  }
};

class NativeStream {
 public:
  static constexpr double kMaxRetransmitMs = 1000;
  static constexpr double kMinCwnd = 4;
  static constexpr double kCongestedFraction = 0.25;
  static constexpr double kStalledWaits = 8;
  static constexpr double kStalledMinMs = 200;
  static constexpr double kStalledMaxMs = 2000;  // worker.ts's STALLED_MAX_MS
  static constexpr double kMaxBackoff = 128;
  static constexpr size_t kHeader = 10;
  static constexpr uint8_t kLowestWire = 0x80;  // int8 -128 (packet.ts's MIN_WIRE_EXPONENT)
  static constexpr int32_t kWireBias = -2;      // wire = codec exponent - 2 (packet.ts's EXPONENT_WIRE_BIAS)
  static constexpr size_t kFirstFlushBytes = 64 << 10;  // start(): one GSO message's worth

  StreamCounters counters;
  StreamTimes times;
  StreamEnd end = StreamEnd::running;
  /** Packets still without a result when the stream ended (the timeout's message names them). */
  uint32_t outstanding = 0;

  NativeStream(const StreamParams& p, SlotBuffers& buffers, Pacing& pacing, SwitchmlLoops loops)
      : p_(p), buffers_(buffers), pacing_(pacing), loops_(loops), values_((size_t)32 << p.size_class) {
    chunks_ = (p.count + values_ - 1) / values_;
    agreeing_ = p.is_float && p.agreed == nullptr;
    lead_ = agreeing_ ? std::min<size_t>(p.window, chunks_) : 0;
    packets_ = chunks_ + lead_;
    if (agreeing_) {
      own_agreed_.assign(2 * chunks_, 0);
      p_.agreed = own_agreed_.data();
    }
    sent_.assign(packets_, 0);
    done_.assign(packets_, 0);
    in_flight_.assign(p.window, -1);
    deadline_.assign(p.window, 0);
    wait_.assign(p.window, 0);
    sent_at_.assign(p.window, 0);
    first_sent_.assign(p.window, 0);
    retried_.assign(p.window, 0);
    min_cwnd_ = std::max(kMinCwnd, std::floor((double)p.window / p.workers));
    budget_ = loops.budget(p.workers);
    factor_ = loops.factor(p.workers);
  }

  /** On the receive thread (the buffers and pacing are its own): sends the first window (as many as cwnd allows); an empty stream is done at once. */
  void start(udp::Sender& sender, int fd, double now) {
    buffers_.shape(p_.window, p_.size_class);
    if (pacing_.cwnd == 0) pacing_.cwnd = pacing_.ssthresh = p_.window;
    last_progress_ = now;
    times.started = now;
    times.cwnd = pacing_.cwnd;
    next_sweep_ = now + sweep_interval();
    if (packets_ == 0) {
      end = StreamEnd::done;
      times.ended = now;
      return;
    }
    for (size_t q = 0; q < std::min<size_t>(p_.window, packets_); q++)
      if (ready(q)) held_.push_back(q);
    // The first window is quantized (or byte-swapped) as it goes: its first kFirstFlushBytes
    // leave at once, then chunks of twice what went before, so the link starts while the rest
    // is encoded (a whole 1 MiB window took 0.8 ms on the rack's loaded cores before its first
    // packet left, the call's link idle meanwhile) for a few more sendmmsg calls.
    early_flush_ = kFirstFlushBytes;
    pump(sender, fd, now);
    early_flush_ = 0;
  }

  /** A datagram from the switch. */
  void on_datagram(const uint8_t* bytes, size_t length, udp::Sender& sender, int fd, double now) {
    if (end != StreamEnd::running) return;
    bool header_only = (bytes[0] & 8) != 0;
    if (length < kHeader || (bytes[0] >> 4) != 2 || (bytes[0] & 7) != p_.size_class || length != (header_only ? kHeader : buffers_.length)) {
      counters.malformed++;
      return;
    }
    if (bytes[1] != p_.job) {
      counters.wrong_job++;
      return;
    }
    uint32_t id = ((uint32_t)bytes[2] << 24) | ((uint32_t)bytes[3] << 16) | ((uint32_t)bytes[4] << 8) | bytes[5];
    uint32_t pool = ((uint32_t)bytes[6] << 8) | bytes[7];
    int64_t slot = (int64_t)(pool & 0x7fff) - p_.slot_base;
    int64_t q = slot < 0 || slot >= p_.window ? -1 : in_flight_[slot];
    if (q < 0 || packet_id(q) != id || copy(q) != (pool >> 15)) {
      counters.duplicates++;
      return;
    }
    // An exponents-only result answers only a packet of the lead (worker.ts's needsValues).
    if (header_only && (size_t)q >= lead_) {
      counters.malformed++;
      return;
    }
    counters.results++;
    if (times.first_result < 0) times.first_result = now;
    times.last_result = now;
    if (retried_[slot] == 0 && buffers_.sent_length((uint32_t)slot) != kHeader) {  // worker.ts says why
      sample_rtt(now - sent_at_[slot]);
      backoff_ = 1;
    }
    newest_answered_ = std::max(newest_answered_, first_sent_[slot]);
    if (retried_[slot] == 0) pacing_.longest_delay = std::max(pacing_.longest_delay, now - sent_at_[slot]);
    if (retried_[slot] == 1 && sent_at_[slot] > retry_answered_) {
      retry_answered_ = sent_at_[slot];
      retry_answered_at_ = now;
    } else if (retried_[slot] == 0 && first_sent_[slot] < retry_answered_) {
      retry_answered_ = -std::numeric_limits<double>::infinity();  // worker.ts says why
    }
    in_flight_[slot] = -1;
    flying_--;
    last_progress_ = now;
    if (retried_[slot] == 0) pacing_.cwnd = std::min<double>(p_.window, pacing_.cwnd + (pacing_.cwnd < pacing_.ssthresh ? 1 : 1 / pacing_.cwnd));
    accept((size_t)q, bytes);
    if ((size_t)q < lead_ && ++lead_results_ == lead_) times.lead_done = now;
    // The slot's next packet, and with a lead shorter than the window the packet whose data
    // this result's exponents agreed (with L = W both are the same packet).
    if (ready((size_t)q + p_.window)) hold((size_t)q + p_.window);
    if (lead_ != 0 && lead_ != p_.window && ready((size_t)q + lead_)) hold((size_t)q + lead_);
    pump(sender, fd, now);
    if (completed_ == packets_) {
      end = StreamEnd::done;
      times.ended = now;
    }
  }

  /** Whether the stream has more packets than its window (throughput rather than one round trip bounds it). */
  bool longer_than_window() const { return packets_ > p_.window; }

  /** How long the receive thread may wait for a datagram before the next sweep. */
  int wait_ms(double now) const { return std::max(0, (int)std::ceil(next_sweep_ - now)); }

  /**
   * The timers (worker.ts's retransmit(), run every retransmitMs / 2): the timeout, the grace
   * after the job ended (`ended_at` >= 0), lost packets, the stall probe and the congestion cut.
   */
  void sweep(udp::Sender& sender, int fd, double now, double ended_at, double grace_ms) {
    if (end != StreamEnd::running || now < next_sweep_) return;
    next_sweep_ = now + sweep_interval();
    if (ended_at >= 0 && now - std::max(last_progress_, ended_at) > grace_ms) return finish(StreamEnd::ended);
    if (now - last_progress_ > p_.timeout_ms) return finish(StreamEnd::timeout);
    double first = first_wait();
    double patience = std::min(kMaxRetransmitMs, first * backoff_);  // the probes' backoff (worker.ts)
    double stalled = std::max({kStalledMinMs, kStalledWaits * first, std::min(kStalledMaxMs, 2 * pacing_.longest_delay)});
    double retry_loss = now - last_progress_ >= stalled ? std::numeric_limits<double>::infinity()
                        : now - retry_answered_at_ >= patience                                  ? retry_answered_
                                                                                                : -std::numeric_limits<double>::infinity();
    double lost = 0;
    int64_t probe = -1;
    for (uint32_t slot = 0; slot < p_.window; slot++) {
      if (in_flight_[slot] < 0) continue;
      bool overdue = deadline_[slot] <= now;
      bool found = first_sent_[slot] < newest_answered_ || sent_at_[slot] < retry_loss;
      if (found && (overdue || (retried_[slot] == 0 && now - first_sent_[slot] >= p_.retransmit_ms))) {
        lost++;
        resend(slot, now, sender, fd);
      } else if (overdue && (probe < 0 || in_flight_[slot] < in_flight_[probe])) {
        probe = slot;
      }
    }
    if (probe >= 0 && now - std::max(last_probe_, last_progress_) >= patience) {  // re-armed by each result (worker.ts)
      last_probe_ = now;
      backoff_ = std::min(kMaxBackoff, 2 * backoff_);
      counters.probes++;
      resend((uint32_t)probe, now, sender, fd);
    }
    if (lost >= std::max(kMinCwnd, kCongestedFraction * flying_)) congested(now);
  }

  /** Ends the stream (the socket closed, or a timer decided). */
  void finish(StreamEnd why) {
    if (end != StreamEnd::running) return;
    end = why;
    outstanding = 0;
    times.ended = times.last_result;  // the timer's decision: no clock here
    for (int64_t q : in_flight_) outstanding += q >= 0;
  }

 private:
  uint32_t packet_id(size_t q) const { return (uint32_t)(p_.base_seq + q); }
  uint32_t copy(size_t q) const { return (uint32_t)(((p_.base_seq + q) / p_.window) & 1); }
  uint32_t local_slot(size_t q) const { return (uint32_t)((p_.base_seq + q) % p_.window); }
  size_t span(size_t chunk) const { return std::min(values_, p_.count - chunk * values_); }

  /** Whether packet q may leave: unsent, its slot free, and (with a lead) its data's exponents agreed. */
  bool ready(size_t q) const {
    return q < packets_ && sent_[q] == 0 && (q < p_.window || done_[q - p_.window] == 1) && (lead_ == 0 || q < lead_ || done_[q - lead_] == 1);
  }

  double sweep_interval() const { return std::max(1.0, std::floor(p_.retransmit_ms / 2)); }

  double first_wait() const { return std::min(kMaxRetransmitMs, std::max(p_.retransmit_ms, pacing_.srtt + 4 * pacing_.rttvar)); }

  void sample_rtt(double sample) {
    if (pacing_.srtt == 0) {
      pacing_.srtt = sample;
      pacing_.rttvar = sample / 2;
    } else {
      pacing_.rttvar = 0.75 * pacing_.rttvar + 0.25 * std::fabs(pacing_.srtt - sample);
      pacing_.srtt = 0.875 * pacing_.srtt + 0.125 * sample;
    }
  }

  void congested(double now) {
    if (now - pacing_.last_cut < std::max(p_.retransmit_ms, pacing_.srtt)) return;
    pacing_.last_cut = now;
    pacing_.ssthresh = std::max(min_cwnd_, pacing_.cwnd / 2);
    pacing_.cwnd = pacing_.ssthresh;
    counters.window_cuts++;
  }

  /** Packet q is ready: held in increasing order (results mostly free them in order). */
  void hold(size_t q) {
    if (held_.empty() || held_.back() < q) {
      held_.push_back(q);
      return;
    }
    held_.insert(std::upper_bound(held_.begin(), held_.end(), q), q);
  }

  size_t first_undone() {
    while (undone_ < packets_ && done_[undone_] == 1) undone_++;
    return undone_;
  }

  /** worker.ts's pump: lowest first while cwnd allows, and the lowest unfinished packet always. */
  void pump(udp::Sender& sender, int fd, double now) {
    while (!held_.empty() && flying_ < std::floor(pacing_.cwnd)) {
      send(held_.front(), now, sender, fd);
      held_.pop_front();
    }
    if (!held_.empty() && held_.front() == first_undone()) {
      send(held_.front(), now, sender, fd);
      held_.pop_front();
    }
  }

  void send(size_t q, double now, udp::Sender& sender, int fd) {
    sent_[q] = 1;
    flying_++;
    uint32_t slot = local_slot(q);
    encode(q, buffers_.packet(slot));
    in_flight_[slot] = (int64_t)q;
    wait_[slot] = first_wait();
    // Strictly increasing first-send stamps: a batch shares `now`, and RACK orders by time (worker.ts's stamp()).
    last_stamp_ = std::max(now, last_stamp_ + 1e-6);
    deadline_[slot] = last_stamp_ + wait_[slot];
    sent_at_[slot] = first_sent_[slot] = last_stamp_;
    times.last_first_send = now;
    if (times.first_data_send < 0 && q >= lead_) times.first_data_send = now;  // the lead's exponents are agreed
    retried_[slot] = 0;
    counters.sent++;
    transmit(slot, sender, fd);
  }

  void resend(uint32_t slot, double now, udp::Sender& sender, int fd) {
    wait_[slot] = std::min(kMaxRetransmitMs, 2 * wait_[slot]);
    deadline_[slot] = now + wait_[slot];
    sent_at_[slot] = now;
    retried_[slot] = 1;
    counters.retransmitted++;
    transmit(slot, sender, fd);
  }

  void transmit(uint32_t slot, udp::Sender& sender, int fd) {
    if (sender.full()) sender.flush(fd, 0, nullptr);
    sender.add(buffers_.packet(slot), buffers_.sent_length(slot), nullptr, 0);
    if (early_flush_ == 0) return;
    queued_bytes_ += buffers_.sent_length(slot);
    if (queued_bytes_ < early_flush_) return;
    sender.flush(fd, 2, nullptr);  // as the JS thread's flush of the first window waits
    counters.early_flushes++;
    early_flush_ = 2 * queued_bytes_;  // the next chunk: twice what left so far
  }

  /** The UPDATE datagram of packet q, into its slot's buffer (allreduce-stream.ts's encode). */
  void encode(size_t q, uint8_t* bytes) {
    uint8_t* values = bytes + kHeader;
    uint8_t e0 = kLowestWire, e1 = kLowestWire;
    size_t n = 0;
    if (!p_.is_float) {
      n = span(q);
      loops_.int32_to_be(p_.input + q * values_, n, values);
    } else {
      if (agreeing_ && q < chunks_) local_exponents(q, e0, e1);
      if (q >= lead_) {
        size_t chunk = q - lead_;
        n = span(chunk);
        loops_.quantize(p_.input + chunk * values_, n, values_ / 2, p_.agreed + 2 * chunk, budget_, values, true);
      }
    }
    // Only the lead's packets carry no values: their header alone where the switch takes that.
    bool header_only = n == 0 && p_.exponents_only;
    if (!header_only && n < values_) memset(values + 4 * n, 0, 4 * (values_ - n));
    buffers_.lengths[local_slot(q)] = header_only ? kHeader : buffers_.length;
    uint32_t id = packet_id(q);
    uint32_t pool = (copy(q) << 15) | (p_.slot_base + local_slot(q));
    bytes[0] = (uint8_t)((1 << 4) | (header_only ? 8 : 0) | p_.size_class);
    bytes[1] = p_.job;
    bytes[2] = (uint8_t)(id >> 24);
    bytes[3] = (uint8_t)(id >> 16);
    bytes[4] = (uint8_t)(id >> 8);
    bytes[5] = (uint8_t)id;
    bytes[6] = (uint8_t)(pool >> 8);
    bytes[7] = (uint8_t)pool;
    bytes[8] = e0;  // the lowest wire exponent where the packet agrees none
    bytes[9] = e1;
  }

  /**
   * The wire exponents (codec exponent - 2, packet.ts) of chunk q's two halves; a chunk of one
   * half sends the lowest as the second.
   */
  void local_exponents(size_t chunk, uint8_t& e0, uint8_t& e1) {
    size_t n = span(chunk), half = values_ / 2;
    int32_t local[2] = {0, 0};
    loops_.block_exponents(p_.input + chunk * values_, n, half, local);
    e0 = (uint8_t)(int8_t)(local[0] + kWireBias);
    if (n > half) e1 = (uint8_t)(int8_t)(local[1] + kWireBias);
  }

  /** The result of packet q (its datagram) into the output (allreduce-stream.ts's accept). */
  void accept(size_t q, const uint8_t* bytes) {
    done_[q] = 1;
    completed_++;
    const uint8_t* values = bytes + kHeader;
    if (!p_.is_float) {
      loops_.int32_from_be(values, span(q), p_.divisor, (int32_t*)(p_.output + q * values_));
      return;
    }
    if (agreeing_ && q < chunks_) {
      own_agreed_[2 * q] = (int8_t)bytes[8] - kWireBias;
      own_agreed_[2 * q + 1] = (int8_t)bytes[9] - kWireBias;
    }
    if (q >= lead_) {
      size_t chunk = q - lead_;
      loops_.dequantize(values, span(chunk), values_ / 2, p_.agreed + 2 * chunk, factor_, p_.divisor, p_.output + chunk * values_, true);
    }
  }

  StreamParams p_;
  SlotBuffers& buffers_;
  Pacing& pacing_;
  SwitchmlLoops loops_;
  size_t values_, chunks_ = 0, lead_ = 0, packets_ = 0, completed_ = 0, undone_ = 0;
  bool agreeing_ = false;
  size_t lead_results_ = 0;
  size_t early_flush_ = 0, queued_bytes_ = 0;  // start()'s flushes (see there); 0: none
  std::vector<int32_t> own_agreed_;  // the lead's agreed exponents (one per half packet)
  uint32_t budget_ = 0;
  float factor_ = 0;
  double min_cwnd_ = kMinCwnd, flying_ = 0;
  std::vector<uint8_t> sent_, done_, retried_;
  std::vector<int64_t> in_flight_;
  std::vector<double> deadline_, wait_, sent_at_, first_sent_;
  std::deque<size_t> held_;
  double newest_answered_ = -std::numeric_limits<double>::infinity();
  double last_probe_ = -std::numeric_limits<double>::infinity();
  double backoff_ = 1;
  double retry_answered_ = -std::numeric_limits<double>::infinity(), retry_answered_at_ = 0;
  double last_progress_ = 0, next_sweep_ = 0;
  double last_stamp_ = -std::numeric_limits<double>::infinity();
};

}  // namespace webccl
