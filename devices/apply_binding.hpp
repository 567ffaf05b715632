#pragma once
// The syscall side of a binding, run by `hpclaunch-join` right before
// execve: affinity and memory policy both survive exec.
#include <string>
#include <vector>

#include "devices/binding_plan.hpp"
#include "devices/cpu_list.hpp"

namespace hl::devices {

struct AppliedBinding {
  RankBinding binding;  // what the process is now bound to (plan ∩ allowed)
  std::vector<std::string> warnings;
};

// This thread's affinity (sched_getaffinity): the cpuset Slurm or mpirun gave.
CpuList current_allowed_cpus();

// Pure: the plan limited to `allowed`. When they do not meet (the holder
// planned over other cpus than this rank may use) the rank keeps `allowed`,
// with one warning, rather than failing or escaping its cpuset.
AppliedBinding effective_binding(const RankBinding& planned, const CpuList& allowed);

// effective_binding() over current_allowed_cpus(), then sched_setaffinity and
// a preferred-NUMA memory policy (best effort: refused is not an error).
// Throws hl::Error when the affinity cannot be set.
AppliedBinding apply_binding(const RankBinding& planned);

}  // namespace hl::devices
