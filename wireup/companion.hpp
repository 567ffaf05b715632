#pragma once
// Companion mode: `srun -n N hpclaunch exec --image IMG PROG` — hpclaunch is
// each task, like `srun ch-run`. There is no node step, so the first task on
// each node starts a daemon holder that outlives every task (ch-run --join
// keeps the FUSE server inside the first rank and loses it when that rank
// exits), and every task, the first included, joins it.
#include <string>
#include <vector>

#include "common/env.hpp"
#include "wireup/launch_spec.hpp"

namespace hl::wireup {

// The rendezvous name of this step's tasks on this node: the same for all
// of them, different for every other step or job.
std::string companion_rendezvous_name(uid_t uid, const EnvList& env);

[[noreturn]] void run_exec(LaunchSpec launch, const std::vector<std::string>& command);

}  // namespace hl::wireup
