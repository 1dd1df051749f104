// The calling thread's CPU affinity (sched_getaffinity / sched_setaffinity on thread 0 = the
// caller), for the launcher: it binds each local rank to its own CPU, as mpirun does by default
// when the ranks fit, by setting its own thread's mask just before it spawns the rank (a child
// inherits the mask of the thread that forked it, so every thread the rank ever starts has it)
// and putting its own back after (bin/launch/launch.ts).
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "napi-util.h"

namespace webccl {
namespace {

napi_value cpu_list(napi_env env, const cpu_set_t& set) {
  napi_value list;
  napi_create_array(env, &list);
  uint32_t at = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &set)) continue;
    napi_value number;
    napi_create_uint32(env, (uint32_t)cpu, &number);
    napi_set_element(env, list, at++, number);
  }
  return list;
}

/** threadAffinity() → the CPUs the calling thread may run on, ascending. */
napi_value ThreadAffinity(napi_env env, napi_callback_info) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return fail(env, std::string("threadAffinity: ") + strerror(errno)), nullptr;
  return cpu_list(env, set);
}

/** setThreadAffinity(cpus) → the calling thread's CPUs before; cpus: a non-empty array of CPU numbers. */
napi_value SetThreadAffinity(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, args, 1, "setThreadAffinity(cpus)")) return nullptr;
  bool is_array = false;
  uint32_t length = 0;
  if (napi_is_array(env, args.values[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, args.values[0], &length) != napi_ok || length == 0) {
    return fail(env, "setThreadAffinity: cpus must be a non-empty array of CPU numbers"), nullptr;
  }
  cpu_set_t wanted;
  CPU_ZERO(&wanted);
  for (uint32_t i = 0; i < length; i++) {
    napi_value element;
    uint64_t cpu;
    if (napi_get_element(env, args.values[0], i, &element) != napi_ok || !get_index(env, element, cpu, "setThreadAffinity: a CPU number")) return nullptr;
    if (cpu >= CPU_SETSIZE) return fail(env, "setThreadAffinity: CPU " + std::to_string(cpu) + " is beyond " + std::to_string(CPU_SETSIZE - 1)), nullptr;
    CPU_SET((int)cpu, &wanted);
  }
  cpu_set_t before;
  CPU_ZERO(&before);
  if (sched_getaffinity(0, sizeof before, &before) != 0) return fail(env, std::string("setThreadAffinity: ") + strerror(errno)), nullptr;
  if (sched_setaffinity(0, sizeof wanted, &wanted) != 0) return fail(env, std::string("setThreadAffinity: ") + strerror(errno)), nullptr;
  return cpu_list(env, before);
}

}  // namespace

napi_value init_affinity(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"threadAffinity", nullptr, ThreadAffinity, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreadAffinity", nullptr, SetThreadAffinity, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, 2, methods);
  return exports;
}

}  // namespace webccl
