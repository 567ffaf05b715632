#pragma once
// Companion mode: `srun -n N hpclaunch exec --image IMG PROG` — hpclaunch is
// each task, like `srun ch-run`. There is no node step, so the first task on
// each node starts a daemon holder that outlives every task (ch-run --join
// keeps the FUSE server inside the first rank and loses it when that rank
// exits), and every task, the first included, joins it.
#include <string>
#include <vector>

#include "common/private_dir.hpp"
#include "common/unique_fd.hpp"
#include "wireup/launch_spec.hpp"

namespace hl::wireup {

[[noreturn]] void run_exec(LaunchSpec launch, const std::vector<std::string>& command);

// The tasks of one companion step on a node decide who is first, and the
// daemon holder leaves, under one lock: `lock` in the node's directory of the
// step's group. Taking it re-creates the directory if the daemon removed it
// meanwhile (a late task then starts a new daemon).
struct CompanionNode {
  PrivateDir group;
  PrivateDir node;
  UniqueFd lock;  // flock'ed
};
CompanionNode lock_companion_node(const PrivateDir& runtime, const std::string& group);

}  // namespace hl::wireup
