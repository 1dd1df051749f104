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
 * A non-blocking UDP socket bound to host:port (IPv6 when host has a colon), with 8 MiB
 * buffers (capped by net.core.*mem_max): a window of datagrams from or to every worker comes at
 * once. Returns the descriptor and sets `family` and `bound_port`, or -1 with `why`.
 */
inline int open_udp(const std::string& host, uint32_t port, int& family, uint16_t& bound_port, std::string& why) {
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
  int size = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  bound_port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&address)->sin_port : reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  return fd;
}

}  // namespace webccl
