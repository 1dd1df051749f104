// Batched UDP with the kernel's segmentation offloads, shared by the switch's data plane
// (switch-dp.cc) and its workers' socket (switch-worker.cc). The protocol on the wire is
// unchanged: every SwitchML packet is still its own UDP datagram. What changes is how many times
// the kernel walks its per-packet path (socket, IP, qdisc, veth, bridge) for them:
// - Send (UDP_SEGMENT, "GSO"): consecutive datagrams of equal length to one destination go as
//   one message whose cmsg names the segment size; the kernel carries it as one skb and cuts it
//   into datagrams only where it must (a device without the offload, or a receiver without GRO).
// - Receive (UDP_GRO): such an skb, or datagrams the driver coalesced, reach recvmmsg as one
//   buffer with the segment size in a cmsg; Receiver::each splits it again.
// WEBCCL_UDP_GSO=0 turns both off (A/B measurement, tests); a kernel without them, or a send the
// kernel refuses to segment (EIO, EINVAL, EOPNOTSUPP, EMSGSIZE: a path that cannot offload, a
// segment above the path MTU), turns GSO off for that socket for good and resends the rest of
// the batch one datagram per message, so no datagram is lost to the fallback.
#pragma once
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif

namespace webccl {
namespace udp {

constexpr int kMaxSegments = 64;       // datagrams per GSO message (the kernel allows 64 or 128)
constexpr size_t kMaxMessage = 65507;  // the largest UDP payload over IPv4, so also the largest GSO message
constexpr size_t kSlot = 65536;        // a receive slot: a coalesced buffer is under 64 KiB

/** Whether this process wants the offloads: WEBCCL_UDP_GSO=0 says no (read at each socket's creation). */
inline bool offload_wanted() {
  const char* value = getenv("WEBCCL_UDP_GSO");
  return !(value && strcmp(value, "0") == 0);
}

/** Turns on what the kernel and WEBCCL_UDP_GSO allow: gso (UDP_SEGMENT, probed with size 0), gro (UDP_GRO). */
struct Offload {
  bool gso = false, gro = false;
};
inline Offload enable_offload(int fd) {
  Offload offload;
  if (!offload_wanted()) return offload;
  int zero = 0, one = 1;
  offload.gso = setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) == 0;
  offload.gro = setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  return offload;
}

/** The same peer (family, address, port), whatever else the structures carry. */
inline bool same_peer(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    auto* x = reinterpret_cast<const sockaddr_in*>(&a);
    auto* y = reinterpret_cast<const sockaddr_in*>(&b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a.ss_family == AF_INET6) {
    auto* x = reinterpret_cast<const sockaddr_in6*>(&a);
    auto* y = reinterpret_cast<const sockaddr_in6*>(&b);
    return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  return false;
}

/** Counters of a Sender, read from the JS thread while the sending thread adds to them. */
struct SendStats {
  std::atomic<uint64_t> messages{0};      // sendmmsg entries the kernel took
  std::atomic<uint64_t> datagrams{0};     // datagrams in them
  std::atomic<uint64_t> gso_messages{0};  // entries of more than one datagram
  std::atomic<uint64_t> lost{0};          // datagrams of entries the kernel refused (a full buffer, an unreachable peer)
  std::atomic<uint64_t> fallbacks{0};     // GSO sends refused, which turned GSO off
};

/**
 * Datagrams queued for one flush (their bytes must stay valid until it), sent with sendmmsg:
 * with gso on, each destination's consecutive datagrams of one length are one message of up to
 * kMaxSegments datagrams and kMaxMessage bytes, the last of which may be shorter (it ends the
 * message); otherwise one message per datagram. Order per destination is kept; destinations go one after another (group_by_destination).
 */
class Sender {
 public:
  explicit Sender(int capacity) : capacity_(capacity), items_(capacity), msgs_(capacity), iov_(capacity), controls_(capacity), first_(capacity) {}

  std::atomic<bool> gso{false};  // the sending thread turns it off; counters read it from JS
  SendStats stats;

  bool full() const { return count_ == capacity_; }
  bool empty() const { return count_ == 0; }

  /** Queues a datagram; `to` null: the socket's connected peer. The caller flushes when full(). */
  void add(const uint8_t* bytes, size_t length, const sockaddr_storage* to, socklen_t to_length) {
    Item& item = items_[count_++];
    item.bytes = bytes;
    item.length = length;
    item.to_length = to ? to_length : 0;
    if (to) memcpy(&item.to, to, to_length);
  }

  /**
   * Sends the queue. A full send buffer is waited for up to wait_ms (0: that message is lost at
   * once, as a dgram socket's send would); `stop` ends the wait loop early (the rest is dropped).
   */
  void flush(int fd, int wait_ms, const std::atomic<bool>* stop) {
    int messages = plan(0);
    int sent = 0;
    while (sent < messages && !(stop && stop->load(std::memory_order_acquire))) {
      int n = sendmmsg(fd, msgs_.data() + sent, messages - sent, MSG_DONTWAIT);
      if (n > 0) {
        for (int m = sent; m < sent + n; m++) count_sent(m);
        sent += n;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && segments(sent) > 1 && (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP || errno == EMSGSIZE)) {
        // The kernel will not segment on this path: one datagram per message from here on.
        gso = false;
        stats.fallbacks.fetch_add(1, std::memory_order_relaxed);
        messages = plan(sent);
        sent = 0;
        continue;
      }
      if (n < 0 && wait_ms > 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
        pollfd out{fd, POLLOUT, 0};
        if (poll(&out, 1, wait_ms) > 0) continue;
      }
      stats.lost.fetch_add(segments(sent), std::memory_order_relaxed);
      sent++;
    }
    count_ = 0;
  }

 private:
  struct Item {
    const uint8_t* bytes;
    size_t length;
    sockaddr_storage to;
    socklen_t to_length;
    int message;  // which message of the plan carries it
  };
  // Room for one cmsg of a uint16_t segment size, aligned as cmsghdr.
  union Control {
    char bytes[CMSG_SPACE(sizeof(uint16_t))];
    cmsghdr align;
  };
  struct Open {
    int item;  // the message's first item (its destination and length)
    int message;
    size_t bytes;
  };

  int segments(int message) const { return (int)msgs_[message].msg_hdr.msg_iovlen; }

  void count_sent(int message) {
    int n = segments(message);
    stats.messages.fetch_add(1, std::memory_order_relaxed);
    stats.datagrams.fetch_add(n, std::memory_order_relaxed);
    if (n > 1) stats.gso_messages.fetch_add(1, std::memory_order_relaxed);
  }

  /** Whether two items go to the same place (the connected peer, or one address). */
  bool same_destination(const Item& a, const Item& b) const { return a.to_length == b.to_length && (a.to_length == 0 || same_peer(a.to, b.to)); }

  /**
   * order_: the items grouped by destination (in order of first appearance), each destination's
   * in queue order. A switch's flush holds each result once per worker; sent interleaved, every
   * worker's first message wakes it while the rest of its results are still to come, so it
   * wakes again for them (at 8 workers about one wake-up per GSO message). Grouped, a worker's
   * messages leave back to back.
   */
  void group_by_destination() {
    order_.resize(count_);
    heads_.clear();
    group_.resize(count_);
    for (int i = 0; i < count_; i++) {
      size_t g = 0;
      while (g < heads_.size() && !same_destination(items_[heads_[g]], items_[i])) g++;
      if (g == heads_.size()) heads_.push_back(i);
      group_[i] = (int)g;
    }
    // A counting sort by group, stable.
    starts_.assign(heads_.size() + 1, 0);
    for (int i = 0; i < count_; i++) starts_[group_[i] + 1]++;
    for (size_t g = 0; g < heads_.size(); g++) starts_[g + 1] += starts_[g];
    for (int i = 0; i < count_; i++) order_[starts_[group_[i]]++] = i;
  }

  /**
   * Lays the items that no earlier message (below `from`) carried into messages 0, 1, ...,
   * destination by destination (group_by_destination): each item joins its destination's open
   * message when gso allows, else opens one. Returns the count.
   */
  int plan(int from) {
    int messages = 0;
    open_.clear();
    sizes_.clear();
    std::vector<int>& sizes = sizes_;
    group_by_destination();
    for (int k = 0; k < count_; k++) {
      int i = order_[k];
      Item& item = items_[i];
      if (from > 0 && item.message < from) {
        item.message = -1;  // already sent
        continue;
      }
      int slot = -1;
      if (gso) {
        for (size_t o = 0; o < open_.size(); o++) {
          if (same_destination(items_[open_[o].item], item)) { slot = (int)o; break; }
        }
      }
      if (slot >= 0) {
        Open& run = open_[slot];
        size_t size = items_[run.item].length;
        bool fits = size > 0 && item.length > 0 && item.length <= size && sizes[run.message] < kMaxSegments && run.bytes + item.length <= kMaxMessage;
        if (fits) {
          item.message = run.message;
          sizes[run.message]++;
          run.bytes += item.length;
          if (item.length < size) open_.erase(open_.begin() + slot);  // a short one ends its message
          continue;
        }
        open_.erase(open_.begin() + slot);
      }
      item.message = messages++;
      sizes.push_back(1);
      if (gso) open_.push_back({i, item.message, item.length});
    }
    // Each message's iovecs side by side, in queue order.
    std::vector<int>& at = at_;
    at.resize(messages);
    for (int m = 0, offset = 0; m < messages; offset += sizes[m], m++) at[m] = offset;
    for (int m = 0; m < messages; m++) first_[m] = -1;
    for (int k = 0; k < count_; k++) {
      int i = order_[k];
      Item& item = items_[i];
      int m = item.message;
      if (m < 0) continue;
      if (first_[m] < 0) first_[m] = i;
      iov_[at[m]++] = {const_cast<uint8_t*>(item.bytes), item.length};
    }
    for (int m = 0, offset = 0; m < messages; offset += sizes[m], m++) {
      const Item& head = items_[first_[m]];
      msghdr& h = msgs_[m].msg_hdr;
      h = {};
      if (head.to_length) {
        h.msg_name = const_cast<sockaddr_storage*>(&head.to);
        h.msg_namelen = head.to_length;
      }
      h.msg_iov = &iov_[offset];
      h.msg_iovlen = sizes[m];
      msgs_[m].msg_len = 0;
      if (sizes[m] > 1) {
        h.msg_control = controls_[m].bytes;
        h.msg_controllen = sizeof controls_[m].bytes;
        cmsghdr* c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t size = (uint16_t)head.length;
        memcpy(CMSG_DATA(c), &size, sizeof size);
      }
    }
    return messages;
  }

  int capacity_, count_ = 0;
  std::vector<Item> items_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iov_;
  std::vector<Control> controls_;
  std::vector<int> first_;
  std::vector<Open> open_;
  std::vector<int> sizes_, at_;  // plan()'s datagrams per message and next iovec per message
  std::vector<int> order_, heads_, group_, starts_;  // group_by_destination()'s
};

/** Counters of a Receiver (written by its thread, read from JS). */
struct ReceiveStats {
  std::atomic<uint64_t> buffers{0};    // recvmmsg entries
  std::atomic<uint64_t> datagrams{0};  // datagrams in them, after splitting
  std::atomic<uint64_t> coalesced{0};  // entries that held more than one datagram
};

/** recvmmsg into `slots` buffers of kSlot bytes (each with its sender's address and cmsg room), split on each GRO segment size. */
class Receiver {
 public:
  explicit Receiver(int slots)
      : slots_(slots), data_(new uint8_t[(size_t)slots * kSlot]), msgs_(slots), iov_(slots), from_(slots), controls_(slots) {}

  ReceiveStats stats;

  /** One recvmmsg without waiting; returns how many buffers it read (0 when none). */
  int receive(int fd) {
    for (int i = 0; i < slots_; i++) {
      iov_[i] = {data_.get() + (size_t)i * kSlot, kSlot};
      msghdr& h = msgs_[i].msg_hdr;
      h = {};
      h.msg_name = &from_[i];
      h.msg_namelen = sizeof from_[i];
      h.msg_iov = &iov_[i];
      h.msg_iovlen = 1;
      h.msg_control = controls_[i].bytes;
      h.msg_controllen = sizeof controls_[i].bytes;
      msgs_[i].msg_len = 0;
    }
    int n = recvmmsg(fd, msgs_.data(), slots_, MSG_DONTWAIT, nullptr);
    count_ = n > 0 ? n : 0;
    stats.buffers.fetch_add(count_, std::memory_order_relaxed);
    return count_;
  }

  /** The bytes of the last receive, all buffers together. */
  size_t bytes() const {
    size_t total = 0;
    for (int i = 0; i < count_; i++) total += msgs_[i].msg_len;
    return total;
  }

  /**
   * Calls visit(bytes, length, from, from_length) for each datagram of the last receive, in
   * order. A buffer with a GRO segment size is cut at it (the last piece may be shorter); a
   * buffer without one is one datagram (a zero-length datagram too).
   */
  template <class Visit>
  void each(Visit&& visit) {
    for (int i = 0; i < count_; i++) {
      const msghdr& h = msgs_[i].msg_hdr;
      const uint8_t* bytes = static_cast<const uint8_t*>(iov_[i].iov_base);
      size_t length = msgs_[i].msg_len;
      size_t size = segment_size(h);
      if (size == 0 || size >= length) {
        stats.datagrams.fetch_add(1, std::memory_order_relaxed);
        visit(bytes, length, from_[i], h.msg_namelen);
        continue;
      }
      stats.coalesced.fetch_add(1, std::memory_order_relaxed);
      for (size_t at = 0; at < length; at += size) {
        stats.datagrams.fetch_add(1, std::memory_order_relaxed);
        visit(bytes + at, std::min(size, length - at), from_[i], h.msg_namelen);
      }
    }
  }

 private:
  union Control {
    char bytes[CMSG_SPACE(sizeof(int))];
    cmsghdr align;
  };

  static size_t segment_size(const msghdr& h) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
        int size;
        memcpy(&size, CMSG_DATA(c), sizeof size);
        return size > 0 ? (size_t)size : 0;
      }
    }
    return 0;
  }

  int slots_, count_ = 0;
  std::unique_ptr<uint8_t[]> data_;  // not zeroed: pages are touched only as datagrams land
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iov_;
  std::vector<sockaddr_storage> from_;
  std::vector<Control> controls_;
};

/**
 * The offload counters both sockets report to JS (lib/native/addon.ts names them): number(name,
 * value) and flag(name, on) write one each.
 */
template <class Number, class Flag>
void report(const Sender& sender, const Receiver& receiver, const Offload& offload, Number number, Flag flag) {
  number("sentMessages", (double)sender.stats.messages.load());
  number("sentDatagrams", (double)sender.stats.datagrams.load());
  number("gsoMessages", (double)sender.stats.gso_messages.load());
  number("gsoFallbacks", (double)sender.stats.fallbacks.load());
  number("receivedBuffers", (double)receiver.stats.buffers.load());
  number("receivedDatagrams", (double)receiver.stats.datagrams.load());
  number("groBuffers", (double)receiver.stats.coalesced.load());
  flag("gso", sender.gso.load());
  flag("gro", offload.gro);
}

}  // namespace udp
}  // namespace webccl
