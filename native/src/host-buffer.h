// Host buffers in shared memory (NCCL's ncclMemAlloc + user buffer registration, MPI's
// MPI_Alloc_mem / shared windows, an RDMA memory registration on one host): memory a user
// allocates through the addon, backed by a memfd that peers on the same host map (opening
// /proc/<owner pid>/fd/<fd>), so that the board's large allgathers and broadcasts read straight
// from the owner's buffer with one memcpy (board.cc, "direct reads"). A memfd has no name: nothing
// ever appears in /dev/shm, and the kernel frees the pages when the owner and every peer unmapped.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <node_api.h>

namespace webccl {

/** What a peer needs to map a host buffer, and where the view lies in it. */
struct HostBufferRef {
  uint64_t serial = 0;        // unique in the owner process (0: not a host buffer)
  int32_t fd = -1;            // the owner's memfd
  uint64_t inode = 0;         // the memfd's inode: a peer checks it after opening the fd by number (numbers get reused)
  uint64_t buffer_bytes = 0;  // the mapping's length
  uint64_t offset = 0;        // the view's first byte in the buffer
};

class HostBufferUse;

/**
 * The host buffer holding all of [data, data + length), marked in use until the returned use is
 * released (freeHostBuffer refuses it meanwhile); null when the bytes are not all in one.
 */
std::shared_ptr<HostBufferUse> use_host_buffer(const uint8_t* data, size_t length, HostBufferRef& ref);

/** Called (JS thread) with a buffer's serial when it is freed: the boards tell their peers to unmap it. */
void set_host_buffer_freed_listener(void (*listener)(uint64_t serial));

/** Maps host buffer `ref` of process `pid` read-only; null and `why` on failure. */
uint8_t* map_peer_host_buffer(int pid, const HostBufferRef& ref, std::string& why);

napi_value init_host_buffers(napi_env env, napi_value exports);

}  // namespace webccl
