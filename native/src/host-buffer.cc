// Host buffers in shared memory (host-buffer.h): a registry of this process's buffers, by
// address, so that a board call finds whether its view lies in one (as NCCL finds a registered
// buffer by pointer), and the peers' side, which maps another process's buffer by its memfd.
#include "host-buffer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "napi-util.h"

namespace webccl {

namespace {

struct Entry {
  uint64_t serial;
  int fd;
  uint64_t inode;
  uint8_t* base;
  size_t mapped;  // whole pages, at least one (a 0-byte buffer still has an address of its own)
  size_t bytes;   // what the user asked for: the ArrayBuffer's length
  std::atomic<int> in_use{0};
};

std::mutex registry_mutex;
std::map<uintptr_t, std::shared_ptr<Entry>> registry;  // by base address
std::atomic<uint64_t> next_serial{1};
void (*freed_listener)(uint64_t) = nullptr;

/** Unmaps and closes `serial`'s buffer if it is still registered (free, or the ArrayBuffer collected). */
void release(uint64_t serial) {
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    for (auto it = registry.begin(); it != registry.end(); ++it) {
      if (it->second->serial != serial) continue;
      entry = it->second;
      registry.erase(it);
      break;
    }
  }
  if (!entry) return;
  if (freed_listener) freed_listener(serial);
  munmap(entry->base, entry->mapped);
  close(entry->fd);
}

}  // namespace

class HostBufferUse {
 public:
  explicit HostBufferUse(std::shared_ptr<Entry> entry) : entry_(std::move(entry)) { entry_->in_use.fetch_add(1); }
  ~HostBufferUse() { entry_->in_use.fetch_sub(1); }

 private:
  std::shared_ptr<Entry> entry_;
};

std::shared_ptr<HostBufferUse> use_host_buffer(const uint8_t* data, size_t length, HostBufferRef& ref) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry.upper_bound(reinterpret_cast<uintptr_t>(data));
  if (it == registry.begin()) return nullptr;
  const std::shared_ptr<Entry>& entry = (--it)->second;
  if (data < entry->base || data + length > entry->base + entry->bytes) return nullptr;
  ref = HostBufferRef{entry->serial, entry->fd, entry->inode, entry->mapped, (uint64_t)(data - entry->base)};
  return std::make_shared<HostBufferUse>(entry);
}

void set_host_buffer_freed_listener(void (*listener)(uint64_t)) { freed_listener = listener; }

uint8_t* map_peer_host_buffer(int pid, const HostBufferRef& ref, std::string& why) {
  std::string path = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(ref.fd);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return why = "opening " + path + ": " + strerror(errno), nullptr;
  struct stat st {};
  void* memory = MAP_FAILED;
  if (fstat(fd, &st) != 0) why = "fstat " + path + ": " + strerror(errno);
  else if ((uint64_t)st.st_ino != ref.inode || (uint64_t)st.st_size != ref.buffer_bytes) why = path + " is no longer the host buffer the owner published (freed)";
  else if ((memory = mmap(nullptr, ref.buffer_bytes, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED) why = "mapping " + path + ": " + strerror(errno);
  close(fd);
  return memory == MAP_FAILED ? nullptr : static_cast<uint8_t*>(memory);
}

namespace {

void finalize_buffer(napi_env, void*, void* hint) {
  auto* serial = static_cast<uint64_t*>(hint);
  release(*serial);
  delete serial;
}

/** allocHostBuffer(bytes) → an ArrayBuffer of `bytes` in a memfd of this process, mapped shared. */
napi_value AllocHostBuffer(napi_env env, napi_callback_info info) {
  Args args;
  uint64_t bytes;
  if (!get_args(env, info, args, 1, "allocHostBuffer(bytes)") || !get_index(env, args.values[0], bytes, "bytes")) return nullptr;
  if (bytes > (1ull << 40)) return fail(env, "allocHostBuffer: " + std::to_string(bytes) + " bytes is more than 1 TiB"), nullptr;
  size_t page = (size_t)sysconf(_SC_PAGESIZE), mapped = bytes == 0 ? page : (bytes + page - 1) / page * page;
  int fd = (int)memfd_create("webccl-host-buffer", MFD_CLOEXEC);
  if (fd < 0) return fail(env, std::string("allocHostBuffer: memfd_create: ") + strerror(errno)), nullptr;
  // Pages reserved now: a full tmpfs is an error here, not a SIGBUS at first touch.
  int room = ftruncate(fd, (off_t)mapped) == 0 ? posix_fallocate(fd, 0, (off_t)mapped) : errno;
  void* memory = room == 0 ? mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
  struct stat st {};
  if (room != 0 || memory == MAP_FAILED || fstat(fd, &st) != 0) {
    std::string why = room != 0 ? std::string("no room for ") + std::to_string(bytes) + " bytes of shared memory (" + strerror(room) + ")" : std::string(strerror(errno));
    if (memory != MAP_FAILED) munmap(memory, mapped);
    close(fd);
    return fail(env, "allocHostBuffer: " + why), nullptr;
  }
  auto entry = std::make_shared<Entry>();
  entry->serial = next_serial.fetch_add(1);
  entry->fd = fd;
  entry->inode = (uint64_t)st.st_ino;
  entry->base = static_cast<uint8_t*>(memory);
  entry->mapped = mapped;
  entry->bytes = bytes;
  auto* hint = new uint64_t(entry->serial);
  napi_value result;
  if (napi_create_external_arraybuffer(env, memory, bytes, finalize_buffer, hint, &result) != napi_ok) {
    delete hint;
    munmap(memory, mapped);
    close(fd);
    return fail(env, "allocHostBuffer: this Node.js does not allow external ArrayBuffers"), nullptr;
  }
  std::lock_guard<std::mutex> lock(registry_mutex);
  registry[reinterpret_cast<uintptr_t>(memory)] = entry;
  return result;
}

/** freeHostBuffer(arrayBuffer): detaches it (every view of it reads 0 bytes), unmaps it, tells the boards' peers to. */
napi_value FreeHostBuffer(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, args, 1, "freeHostBuffer(arrayBuffer)")) return nullptr;
  bool is_buffer = false;
  napi_is_arraybuffer(env, args.values[0], &is_buffer);
  if (!is_buffer) return fail(env, "freeHostBuffer: not an ArrayBuffer"), nullptr;
  void* data = nullptr;
  size_t length = 0;
  napi_get_arraybuffer_info(env, args.values[0], &data, &length);
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto it = registry.find(reinterpret_cast<uintptr_t>(data));
    if (data != nullptr && it != registry.end()) entry = it->second;
  }
  if (!entry) return fail(env, "freeHostBuffer: not a host buffer of allocHostBuffer, or freed already"), nullptr;
  if (entry->in_use.load() > 0) return fail(env, "freeHostBuffer: the buffer is in use by a call in flight; free it once the call settled"), nullptr;
  if (napi_detach_arraybuffer(env, args.values[0]) != napi_ok) return fail(env, "freeHostBuffer: the ArrayBuffer could not be detached"), nullptr;
  release(entry->serial);
  return nullptr;
}

/** hostBufferCount() → this process's live host buffers (tests: every one freed or collected). */
napi_value HostBufferCount(napi_env env, napi_callback_info) {
  size_t count;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    count = registry.size();
  }
  napi_value result;
  napi_create_double(env, (double)count, &result);
  return result;
}

}  // namespace

napi_value init_host_buffers(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {method("allocHostBuffer", AllocHostBuffer), method("freeHostBuffer", FreeHostBuffer), method("hostBufferCount", HostBufferCount)};
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace webccl
