#pragma once
// Slurm host lists ("node[1-4,7],gpu[01-03]"), expanded as SLURM_JOB_NODELIST
// gives them, so the front end knows which nodes a launch's app step uses
// without running scontrol. Pure: unit-tested.
#include <string>
#include <string_view>
#include <vector>

namespace hl::launcher {

// Throws hl::Error naming the list when it is not a host list.
std::vector<std::string> expand_hostlist(std::string_view list);

}  // namespace hl::launcher
