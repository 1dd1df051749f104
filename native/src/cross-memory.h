// Cross-memory attach (CMA): one process reading another's memory with process_vm_readv, the
// kernel copying straight from the peer's pages (Open MPI vader's single copy, an RDMA read on
// one host). Used by the shm provider's read() and by the board's single-copy collectives.
#pragma once
#include <cstdint>
#include <string>

namespace webccl {

/**
 * Copies `length` bytes at `address` in process `pid` to `target`; "" or why it failed. A short
 * read (a partly mapped range, a signal) continues where it stopped until the kernel reports an
 * error; a process that is gone reads "peer process <pid> died".
 */
std::string read_peer(int pid, uint8_t* target, uint64_t address, uint64_t length);

/** The errno of read_peer's last failure on this thread (EPERM: no ptrace permission; ESRCH: gone). */
int read_peer_errno();

}  // namespace webccl
