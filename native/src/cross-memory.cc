#include "cross-memory.h"

#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace webccl {

namespace {
thread_local int last_errno = 0;
}

std::string read_peer(int pid, uint8_t* target, uint64_t address, uint64_t length) {
  uint64_t done = 0;
  last_errno = 0;
  while (done < length) {
    iovec local{target + done, (size_t)(length - done)};
    iovec remote{reinterpret_cast<void*>(address + done), (size_t)(length - done)};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) last_errno = errno;
    if (n < 0 && errno == ESRCH) return "peer process " + std::to_string(pid) + " died";
    if (n < 0) return std::string("process_vm_readv: ") + strerror(errno);
    if (n == 0) return "process_vm_readv: read nothing at " + std::to_string(address + done) + " of process " + std::to_string(pid);
    done += (uint64_t)n;
  }
  return "";
}

int read_peer_errno() { return last_errno; }

}  // namespace webccl
