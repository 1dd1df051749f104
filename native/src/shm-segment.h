// The shared-memory layout of one endpoint direction ("inbox"): the process that owns it reads,
// its single peer writes. Owner-created with shm_open(O_EXCL, 0600) under a name carrying the
// job secret's digest; the peer unlinks the name as soon as it has mapped the segment, so a
// crash after connection leaves nothing in /dev/shm, and a crash before it leaves a segment
// whose owner_pid is dead, which the next owner of the name detects and replaces.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include "provider-common.h"

namespace webccl {

constexpr uint32_t kSegmentMagic = 0x57434331;  // "WCC1"
constexpr uint64_t kRecordAlign = 64;

/** A published memory region: (generation << 40) | byte length; 0 = none. */
inline uint64_t region_word(uint32_t generation, uint64_t length) { return ((uint64_t)generation << 40) | length; }

struct alignas(64) SegmentHeader {
  uint32_t magic;
  uint32_t capacity;                     // ring bytes, a multiple of kRecordAlign
  int32_t owner_pid;
  std::atomic<int32_t> writer_pid;       // set by the peer when it has mapped (and unlinked) the segment
  std::atomic<uint32_t> owner_closed;    // the owner destroyed its endpoint
  std::atomic<uint32_t> writer_closed;   // the peer destroyed its endpoint
  uint64_t owner_address;                // where this header lies in the owner's address space (the single-copy probe)
  std::atomic<uint32_t> owner_reads_writer;  // 0: not probed yet; 1: the owner can read the writer's memory (process_vm_readv); 2: it cannot
  alignas(64) std::atomic<uint32_t> bell;  // futex doorbell the owner's progress thread sleeps on
  std::atomic<uint32_t> writer_waiting;    // the peer found the ring full: the owner rings the peer's bell once it frees space
  // The owner's JS thread reads the ring itself, woken through an eventfd its event loop polls
  // (shm.cc, "the JS thread's doorbell"): armed = 1 when it asks for that eventfd to be
  // written for the next record (it set it before it last looked at head); the writer writes
  // it (reader_eventfd, its own copy taken with pidfd_getfd) or, without a copy, rings `bell`.
  std::atomic<uint32_t> reader_armed;
  int32_t reader_eventfd;
  alignas(64) std::atomic<uint64_t> head;  // bytes written (peer)
  alignas(64) std::atomic<uint64_t> tail;  // bytes consumed (owner)
  alignas(64) std::atomic<uint64_t> regions[kMaxRegions];  // the owner's registered regions, for the peer's checks
};

enum RecordType : uint32_t { kWrap = 1, kSend = 2, kWrite = 3 };
enum RecordFlags : uint32_t { kFirst = 1, kLast = 2, kImm = 4 };

/** One ring record; its payload follows, and the whole is padded to kRecordAlign. */
struct alignas(64) Record {
  uint32_t type;
  uint32_t flags;
  uint32_t length;  // payload bytes in this record
  uint32_t imm;
  uint64_t key;     // write: remote key
  uint64_t offset;  // write: byte offset of this fragment in the region
  uint64_t total;   // bytes of the whole message or write
};
static_assert(sizeof(Record) == kRecordAlign, "a record header is one alignment unit");

inline uint64_t align_record(uint64_t bytes) { return (bytes + kRecordAlign - 1) & ~(kRecordAlign - 1); }

inline size_t segment_bytes(uint32_t capacity) { return sizeof(SegmentHeader) + capacity; }

inline uint8_t* ring_of(SegmentHeader* header) { return reinterpret_cast<uint8_t*>(header) + sizeof(SegmentHeader); }

}  // namespace webccl
