// SwitchML's per-slot aggregation rules, the native twin of lib/switch/data-plane.ts (the
// oracle; its header comment states the rules 0-4 that apply() follows line by line) and of
// lib/switch/packet.ts's decoder. No sockets and no N-API here: switch-dp.cc feeds it datagrams.
// Every field of a datagram is bounds-checked before it is used: the size must be exactly the
// size class's, the slot must lie in the sender's job, the worker id comes from the sender's
// address (never from the packet), so no byte pattern can reach memory outside the job's arrays.
// The per-value loops (byte order, the wrapping add) are the codec's (switchml-codec.h: AVX2
// where the CPU has it), chosen when the job is added: at 8 workers the scalar fold was 40% of
// the data plane thread's time with 2048-value packets.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "switchml-codec.h"

namespace webccl {
namespace switchml {

constexpr size_t kHeader = 10;
constexpr int kMsgUpdate = 1;
constexpr int kMsgResult = 2;
constexpr int kMaxSizeClass = 7;
constexpr int kMaxWorkers = 32;
constexpr int kSlotLimit = 0x8000;
constexpr int8_t kMinWireExponent = -128;
constexpr int kExponentsOnly = 8;  // bit 3 of byte 0: a header-only datagram standing for all-zero values (packet.ts)

inline size_t values_of(int size_class) { return (size_t)32 << size_class; }
inline size_t packet_bytes(int size_class) { return kHeader + 4 * values_of(size_class); }
constexpr size_t kMaxPacket = kHeader + 4 * ((size_t)32 << kMaxSizeClass);

inline uint32_t load_be32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  v = __builtin_bswap32(v);
  memcpy(p, &v, 4);
}

struct Packet {
  int type, size_class, job;
  uint32_t packet_id;
  int slot, copy;
  int8_t e0, e1;
  bool exponents_only;
  const uint8_t* values;  // null when exponents_only
};

/** Decodes like decodePacket (packet.ts); on failure `why` (when asked for) gets its reason. */
inline bool decode(const uint8_t* bytes, size_t length, Packet& p, std::string* why) {
  if (length < kHeader) {
    if (why) *why = "short datagram (" + std::to_string(length) + " bytes)";
    return false;
  }
  int first = bytes[0];
  p.type = first >> 4;
  p.size_class = first & 7;
  if (p.type != kMsgUpdate && p.type != kMsgResult) {
    if (why) *why = "unknown message type " + std::to_string(p.type);
    return false;
  }
  p.exponents_only = (first & kExponentsOnly) != 0;
  size_t expected = p.exponents_only ? kHeader : packet_bytes(p.size_class);
  if (length != expected) {
    if (why) {
      *why = p.exponents_only ? "an exponents-only packet is " + std::to_string(kHeader) + " bytes, got " + std::to_string(length)
                              : "size class " + std::to_string(p.size_class) + " needs " + std::to_string(expected) + " bytes, got " + std::to_string(length);
    }
    return false;
  }
  p.job = bytes[1];
  p.packet_id = load_be32(bytes + 2);
  int pool = (bytes[6] << 8) | bytes[7];
  p.slot = pool & 0x7fff;
  p.copy = pool >> 15;
  p.e0 = (int8_t)bytes[8];
  p.e1 = (int8_t)bytes[9];
  p.values = p.exponents_only ? nullptr : bytes + kHeader;
  return true;
}

struct Counters {
  uint64_t packets_in = 0, packets_out = 0, retransmissions = 0, stale = 0, dropped_incomplete = 0, wrong_job = 0, malformed = 0;
};

/** What a packet did (drops carry which rule refused it; the caller words the reason). */
enum class Outcome { absorbed, multicast, unicast, wrong_job, not_update, wrong_size_class, slot_range, stale, incomplete };

/** One copy of every slot of a job, as parallel arrays (slot-major sums). */
struct Copies {
  std::vector<uint32_t> bitmap, packet_id;
  std::vector<uint8_t> counter;
  std::vector<int8_t> e0, e1;
  std::vector<uint8_t> valued;  // 1: a packet with values reached the copy; 0: only exponents-only ones (zeros)
  std::vector<uint32_t> sums;  // int32 values kept unsigned so that adding wraps without UB
  void init(int slots, size_t values) {
    bitmap.assign(slots, 0);
    packet_id.assign(slots, 0);
    counter.assign(slots, 0);
    e0.assign(slots, kMinWireExponent);
    e1.assign(slots, kMinWireExponent);
    valued.assign(slots, 0);
    sums.assign((size_t)slots * values, 0);
  }
};

/** One job's slots: SwitchML's data plane for a pool of `slots` slots from `slot_base`. */
struct JobRules {
  int number = 0, workers = 1, slot_base = 0, slots = 1, size_class = 0;
  size_t values = 32;
  Copies copies[2];
  std::vector<uint32_t> latest;  // per slot and worker: the latest packet id seen (rule 0)
  std::vector<uint8_t> seen;
  Counters counters;
  SwitchmlLoops loops{};

  void init(int number_, int workers_, int slot_base_, int slots_, int size_class_, const SwitchmlLoops& loops_) {
    number = number_, workers = workers_, slot_base = slot_base_, slots = slots_, size_class = size_class_;
    loops = loops_;
    values = values_of(size_class);
    latest.assign((size_t)slots * workers, 0);
    seen.assign((size_t)slots * workers, 0);
    copies[0].init(slots, values);
    copies[1].init(slots, values);
  }

  /**
   * Rules 0-4 for a decoded packet of `worker` (in [0, workers)); a result is written to `out`
   * (up to packet_bytes(size_class) bytes; out_length says how many: kHeader for exponents only).
   */
  Outcome apply(int worker, const Packet& p, uint8_t* out, size_t& out_length) {
    counters.packets_in++;
    if (p.job != number) { counters.wrong_job++; return Outcome::wrong_job; }
    if (p.type != kMsgUpdate) { counters.malformed++; return Outcome::not_update; }
    if (p.size_class != size_class) { counters.malformed++; return Outcome::wrong_size_class; }
    int slot = p.slot - slot_base;
    if (slot < 0 || slot >= slots) { counters.malformed++; return Outcome::slot_range; }

    size_t at = (size_t)slot * workers + worker;
    if (seen[at] && (int32_t)(p.packet_id - latest[at]) < 0) { counters.stale++; return Outcome::stale; }
    seen[at] = 1;
    latest[at] = p.packet_id;

    uint32_t bit = 1u << worker;
    Copies& own = copies[p.copy];
    Copies& other = copies[1 - p.copy];
    other.bitmap[slot] &= ~bit;

    if (own.bitmap[slot] & bit) {
      counters.retransmissions++;
      if (own.counter[slot] == workers) return result(own, slot, p.copy, out, out_length, Outcome::unicast);
      counters.dropped_incomplete++;
      return Outcome::incomplete;
    }
    bool first = own.bitmap[slot] == 0;
    own.bitmap[slot] |= bit;
    uint32_t* sums = own.sums.data() + (size_t)slot * values;
    if (first) {
      own.counter[slot] = 1;
      own.packet_id[slot] = p.packet_id;
      own.e0[slot] = p.e0;
      own.e1[slot] = p.e1;
      own.valued[slot] = 0;
    } else {
      own.counter[slot]++;
      if (p.e0 > own.e0[slot]) own.e0[slot] = p.e0;
      if (p.e1 > own.e1[slot]) own.e1[slot] = p.e1;
    }
    // Values overwrite the zeros of a copy no packet with values reached yet, and add otherwise.
    if (!p.exponents_only && !own.valued[slot]) {
      own.valued[slot] = 1;
      loops.int32_from_be(p.values, values, 1, reinterpret_cast<int32_t*>(sums));
    } else if (!p.exponents_only) {
      loops.int32_add_from_be(p.values, values, sums);
    }
    if (own.counter[slot] == workers) return result(own, slot, p.copy, out, out_length, Outcome::multicast);
    return Outcome::absorbed;
  }

  /** The stored result of (slot, copy) as a RESULT datagram. */
  Outcome result(const Copies& copy, int slot, int which, uint8_t* out, size_t& out_length, Outcome kind) {
    bool exponents_only = !copy.valued[slot];
    out[0] = (uint8_t)((kMsgResult << 4) | (exponents_only ? kExponentsOnly : 0) | size_class);
    out[1] = (uint8_t)number;
    store_be32(out + 2, copy.packet_id[slot]);
    int pool = (which << 15) | (slot_base + slot);
    out[6] = (uint8_t)(pool >> 8);
    out[7] = (uint8_t)pool;
    out[8] = (uint8_t)copy.e0[slot];
    out[9] = (uint8_t)copy.e1[slot];
    counters.packets_out += kind == Outcome::multicast ? workers : 1;
    out_length = exponents_only ? kHeader : packet_bytes(size_class);
    if (exponents_only) return kind;
    loops.int32_to_be(copy.sums.data() + (size_t)slot * values, values, out + kHeader);
    return kind;
  }

  /** The reason data-plane.ts gives for a drop (only worded on the synchronous path). */
  std::string reason(Outcome outcome, const Packet& p, int worker) const {
    switch (outcome) {
      case Outcome::wrong_job: return "job " + std::to_string(p.job) + " from a worker of job " + std::to_string(number);
      case Outcome::not_update: return "a result sent to the switch";
      case Outcome::wrong_size_class: return "size class " + std::to_string(p.size_class) + ", job uses " + std::to_string(size_class);
      case Outcome::slot_range:
        return "slot " + std::to_string(p.slot) + " outside the job's [" + std::to_string(slot_base) + ", " + std::to_string(slot_base + slots) + ")";
      case Outcome::stale: {
        int slot = p.slot - slot_base;
        return "packet " + std::to_string(p.packet_id) + " is older than " + std::to_string(latest[(size_t)slot * workers + worker]) + " in this slot";
      }
      case Outcome::incomplete: return "retransmission to an incomplete slot";
      default: return "";
    }
  }
};

}  // namespace switchml
}  // namespace webccl
