// One switch allreduce run natively on the worker socket's receive thread (switch-worker.cc),
// the way SwitchML's C++/DPDK worker runs its window: send the first packets of the window,
// and on each result dequantize it into the output and send the slot's next packet; per-slot
// timers repair loss. The same stream as lib/switch/allreduce-stream.ts for int32 and for
// float32 with agreed exponents (no lead: packet q carries chunk q, exponent fields at the
// lowest), and the same loss recovery and congestion control as lib/switch/worker.ts (its top
// comment says why each rule is there): RACK-style loss detection with a reordering window of
// retransmitMs, one probe per wait for a stall, every overdue packet after STALLED waits, waits
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
  double retransmit_ms = 10, timeout_ms = 10000;
  const uint32_t* input = nullptr;  // count int32s or float32s
  uint32_t* output = nullptr;       // count, the input itself or disjoint from it
  const int32_t* agreed = nullptr;  // float32: one exponent per half packet
};

struct StreamCounters {
  double sent = 0, retransmitted = 0, results = 0, duplicates = 0, wrong_job = 0, malformed = 0, window_cuts = 0, probes = 0;
};

/** What one worker learns about the path and keeps across calls (worker.ts's srtt, rttvar, cwnd). */
struct Pacing {
  double srtt = 0, rttvar = 0, cwnd = 0, ssthresh = 0, last_cut = -std::numeric_limits<double>::infinity();
};

enum class StreamEnd { running, done, timeout, ended, closed };

/** One packet buffer per local slot for the socket's life (as SlotPackets), values 4-byte aligned. */
struct SlotBuffers {
  std::vector<uint8_t> memory;
  size_t stride = 0, length = 0;
  uint32_t window = 0, size_class = 0;

  uint8_t* packet(uint32_t slot) { return memory.data() + slot * stride + 2; }
  void shape(uint32_t w, uint32_t cls) {
    if (w == window && cls == size_class) return;
    window = w;
    size_class = cls;
    length = 10 + 4 * ((size_t)32 << cls);
    stride = (length + 2 + 3) & ~(size_t)3;
    memory.assign(stride * w + 4, 0);
  }
};

class NativeStream {
 public:
  static constexpr double kMaxRetransmitMs = 1000;
  static constexpr double kMinCwnd = 4;
  static constexpr double kCongestedFraction = 0.25;
  static constexpr double kStalledWaits = 8;
  static constexpr double kStalledMinMs = 200;
  static constexpr size_t kHeader = 10;

  StreamCounters counters;
  StreamEnd end = StreamEnd::running;
  /** Packets still without a result when the stream ended (the timeout's message names them). */
  uint32_t outstanding = 0;

  NativeStream(const StreamParams& p, SlotBuffers& buffers, Pacing& pacing, SwitchmlLoops loops)
      : p_(p), buffers_(buffers), pacing_(pacing), loops_(loops), values_((size_t)32 << p.size_class) {
    chunks_ = (p.count + values_ - 1) / values_;
    sent_.assign(chunks_, 0);
    done_.assign(chunks_, 0);
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
    next_sweep_ = now + sweep_interval();
    if (chunks_ == 0) {
      end = StreamEnd::done;
      return;
    }
    for (size_t q = 0; q < std::min<size_t>(p_.window, chunks_); q++) held_.push_back(q);
    pump(sender, fd, now);
  }

  /** A datagram from the switch. */
  void on_datagram(const uint8_t* bytes, size_t length, udp::Sender& sender, int fd, double now) {
    if (end != StreamEnd::running) return;
    if (length < kHeader || (bytes[0] >> 4) != 2 || (bytes[0] & 7) != p_.size_class || (bytes[0] & 8) != 0 || length != buffers_.length) {
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
    counters.results++;
    if (retried_[slot] == 0) sample_rtt(now - sent_at_[slot]);
    newest_answered_ = std::max(newest_answered_, first_sent_[slot]);
    if (retried_[slot] == 1 && sent_at_[slot] > retry_answered_) {
      retry_answered_ = sent_at_[slot];
      retry_answered_at_ = now;
    }
    in_flight_[slot] = -1;
    flying_--;
    last_progress_ = now;
    if (retried_[slot] == 0) pacing_.cwnd = std::min<double>(p_.window, pacing_.cwnd + (pacing_.cwnd < pacing_.ssthresh ? 1 : 1 / pacing_.cwnd));
    accept((size_t)q, bytes + kHeader);
    size_t next = (size_t)q + p_.window;
    if (next < chunks_ && sent_[next] == 0) hold(next);
    pump(sender, fd, now);
    if (completed_ == chunks_) end = StreamEnd::done;
  }

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
    double patience = first_wait();
    double retry_loss = now - last_progress_ >= std::max(kStalledMinMs, kStalledWaits * patience) ? std::numeric_limits<double>::infinity()
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
    if (probe >= 0 && now - last_probe_ >= patience) {
      last_probe_ = now;
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
    for (int64_t q : in_flight_) outstanding += q >= 0;
  }

 private:
  uint32_t packet_id(size_t q) const { return (uint32_t)(p_.base_seq + q); }
  uint32_t copy(size_t q) const { return (uint32_t)(((p_.base_seq + q) / p_.window) & 1); }
  uint32_t local_slot(size_t q) const { return (uint32_t)((p_.base_seq + q) % p_.window); }
  size_t span(size_t q) const { return std::min(values_, p_.count - q * values_); }

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
    while (undone_ < chunks_ && done_[undone_] == 1) undone_++;
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
    deadline_[slot] = now + wait_[slot];
    sent_at_[slot] = first_sent_[slot] = now;
    retried_[slot] = 0;
    counters.sent++;
    transmit(buffers_.packet(slot), sender, fd);
  }

  void resend(uint32_t slot, double now, udp::Sender& sender, int fd) {
    wait_[slot] = std::min(kMaxRetransmitMs, 2 * wait_[slot]);
    deadline_[slot] = now + wait_[slot];
    sent_at_[slot] = now;
    retried_[slot] = 1;
    counters.retransmitted++;
    transmit(buffers_.packet(slot), sender, fd);
  }

  void transmit(const uint8_t* packet, udp::Sender& sender, int fd) {
    if (sender.full()) sender.flush(fd, 0, nullptr);
    sender.add(packet, buffers_.length, nullptr, 0);
  }

  /** The UPDATE datagram of packet q, into its slot's buffer (allreduce-stream.ts's encode). */
  void encode(size_t q, uint8_t* bytes) {
    size_t n = span(q);
    uint8_t* values = bytes + kHeader;
    const uint32_t* from = p_.input + q * values_;
    if (p_.is_float) loops_.quantize(from, n, values_ / 2, p_.agreed + 2 * q, budget_, values, true);
    else loops_.int32_to_be(from, n, values);
    if (n < values_) memset(values + 4 * n, 0, 4 * (values_ - n));
    uint32_t id = packet_id(q);
    uint32_t pool = (copy(q) << 15) | (p_.slot_base + local_slot(q));
    bytes[0] = (uint8_t)((1 << 4) | p_.size_class);
    bytes[1] = p_.job;
    bytes[2] = (uint8_t)(id >> 24);
    bytes[3] = (uint8_t)(id >> 16);
    bytes[4] = (uint8_t)(id >> 8);
    bytes[5] = (uint8_t)id;
    bytes[6] = (uint8_t)(pool >> 8);
    bytes[7] = (uint8_t)pool;
    bytes[8] = bytes[9] = 0x80;  // the lowest wire exponent: unused without a lead
  }

  /** The result of packet q into the output (allreduce-stream.ts's accept). */
  void accept(size_t q, const uint8_t* values) {
    done_[q] = 1;
    completed_++;
    uint32_t* out = p_.output + q * values_;
    if (p_.is_float) loops_.dequantize(values, span(q), values_ / 2, p_.agreed + 2 * q, factor_, p_.divisor, out, true);
    else loops_.int32_from_be(values, span(q), p_.divisor, (int32_t*)out);
  }

  StreamParams p_;
  SlotBuffers& buffers_;
  Pacing& pacing_;
  SwitchmlLoops loops_;
  size_t values_, chunks_ = 0, completed_ = 0, undone_ = 0;
  uint32_t budget_ = 0;
  float factor_ = 0;
  double min_cwnd_ = kMinCwnd, flying_ = 0;
  std::vector<uint8_t> sent_, done_, retried_;
  std::vector<int64_t> in_flight_;
  std::vector<double> deadline_, wait_, sent_at_, first_sent_;
  std::deque<size_t> held_;
  double newest_answered_ = -std::numeric_limits<double>::infinity();
  double last_probe_ = -std::numeric_limits<double>::infinity();
  double retry_answered_ = -std::numeric_limits<double>::infinity(), retry_answered_at_ = 0;
  double last_progress_ = 0, next_sweep_ = 0;
};

}  // namespace webccl
