#include "devices/apply_binding.hpp"

#include <linux/mempolicy.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/log.hpp"

namespace hl::devices {
namespace {

struct CpuSetFree {
  void operator()(cpu_set_t* set) const noexcept { CPU_FREE(set); }
};
using CpuSetPtr = std::unique_ptr<cpu_set_t, CpuSetFree>;

// Prefer (not force) the rank's NUMA node: with MPOL_BIND a full node would
// OOM-kill the rank instead of spilling to the neighbour. A raw syscall, not
// hwloc_set_membind, so a rank does not load the whole topology to set it.
void prefer_numa_node(int node) {
  constexpr int kBits = 8 * sizeof(unsigned long);
  std::vector<unsigned long> mask(static_cast<std::size_t>(node / kBits + 1), 0);
  mask[static_cast<std::size_t>(node / kBits)] = 1UL << (node % kBits);
  // The kernel reads maxnode - 1 bits (a historic off-by-one), hence the + 1.
  unsigned long maxnode = mask.size() * kBits + 1;
  if (::syscall(SYS_set_mempolicy, MPOL_PREFERRED, mask.data(), maxnode) != 0) {
    log::info("set_mempolicy(preferred, node {}): {}; memory stays first-touch", node, std::strerror(errno));
  }
}

}  // namespace

CpuList current_allowed_cpus() {
  // cpu_set_t holds 1024 CPUs; bigger machines need a bigger mask (EINVAL).
  for (int count = 1024; count <= (1 << 16); count *= 2) {
    CpuSetPtr set(CPU_ALLOC(count));
    std::size_t size = CPU_ALLOC_SIZE(count);
    if (::sched_getaffinity(0, size, set.get()) != 0) {
      if (errno == EINVAL) continue;
      throw_errno("sched_getaffinity");
    }
    CpuList cpus;
    for (int cpu = 0; cpu < count; ++cpu) {
      if (CPU_ISSET_S(cpu, size, set.get())) cpus.push_back(cpu);
    }
    return cpus;
  }
  throw Error("sched_getaffinity: more than 65536 cpus");
}

AppliedBinding effective_binding(const RankBinding& planned, const CpuList& allowed) {
  AppliedBinding out{restricted_to(planned, allowed), {}};
  if (out.binding.pus.empty()) {
    out.warnings.push_back(fmt::format("planned cpus {} are outside this rank's allowed cpus {}: not binding",
                                       format_cpu_list(planned.pus), format_cpu_list(allowed)));
    out.binding.pus = allowed;
  }
  return out;
}

AppliedBinding apply_binding(const RankBinding& planned) {
  AppliedBinding applied = effective_binding(planned, current_allowed_cpus());
  const CpuList& pus = applied.binding.pus;
  int count = pus.empty() ? 1 : pus.back() + 1;
  CpuSetPtr set(CPU_ALLOC(count));
  std::size_t size = CPU_ALLOC_SIZE(count);
  CPU_ZERO_S(size, set.get());
  for (int cpu : pus) CPU_SET_S(cpu, size, set.get());
  // pid 0 is this thread only; hpclaunch-join is single-threaded here, and the
  // affinity is inherited across execve by the application.
  if (::sched_setaffinity(0, size, set.get()) != 0) throw_errno("sched_setaffinity", format_cpu_list(pus));
  if (applied.binding.numa >= 0) prefer_numa_node(applied.binding.numa);
  return applied;
}

}  // namespace hl::devices
