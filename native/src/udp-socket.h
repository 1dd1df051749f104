// The UDP sockets of the switch's native plane (switch-dp.cc) and of its workers
// (switch-worker.cc): addresses from JS strings, and a bound non-blocking socket with the
// buffers a window of datagrams needs.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace webccl {

/** host (IPv4 or IPv6 text) and port as an address a socket of `family` can use (IPv4 on IPv6 as ::ffff:a.b.c.d). */
inline bool make_addr(int family, const std::string& host, uint32_t port, sockaddr_storage& out, socklen_t& length) {
  memset(&out, 0, sizeof out);
  in_addr v4{};
  in6_addr v6{};
  bool is_v4 = inet_pton(AF_INET, host.c_str(), &v4) == 1;
  if (!is_v4 && inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
  if (family == AF_INET) {
    if (!is_v4) return false;
    auto* in = reinterpret_cast<sockaddr_in*>(&out);
    in->sin_family = AF_INET;
    in->sin_addr = v4;
    in->sin_port = htons((uint16_t)port);
    length = sizeof(sockaddr_in);
    return true;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
  in6->sin6_family = AF_INET6;
  if (is_v4) {
    in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(in6->sin6_addr.s6_addr + 12, &v4, 4);
  } else {
    in6->sin6_addr = v6;
  }
  in6->sin6_port = htons((uint16_t)port);
  length = sizeof(sockaddr_in6);
  return true;
}

/**
 * Asks for `bytes` of socket buffer: past net.core.rmem_max / wmem_max (4 MiB here, 208 KiB on a
 * stock kernel) only with CAP_NET_ADMIN (SO_*BUFFORCE), so the capped request is the fallback.
 */
inline void set_buffer(int fd, int option, int force_option, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force_option, &bytes, sizeof bytes) != 0) setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes);
}

/**
 * A non-blocking UDP socket bound to host:port (IPv6 when host has a colon), with a receive
 * buffer of `receive_buffer` bytes and an 8 MiB send buffer (see set_buffer): a window of
 * datagrams from or to every worker comes at once. The kernel counts each queued datagram at
 * its truesize (2304 B for a 1034 B packet on loopback, 17 KiB for a 16 KiB one). Returns the
 * descriptor and sets `family` and `bound_port`, or -1 with `why`.
 */
inline int open_udp(const std::string& host, uint32_t port, int receive_buffer, int& family, uint16_t& bound_port, std::string& why) {
  family = host.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  sockaddr_storage address;
  socklen_t length = 0;
  if (!make_addr(family, host, port, address, length)) {
    why = "host must be an IPv4 or IPv6 address, got " + host;
    return -1;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = std::string("socket: ") + strerror(errno);
    return -1;
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    why = "bind udp " + host + ":" + std::to_string(port) + ": " + strerror(errno);
    close(fd);
    return -1;
  }
  set_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, receive_buffer);
  set_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, 8 << 20);
  length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  bound_port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&address)->sin_port : reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  return fd;
}

}  // namespace webccl
