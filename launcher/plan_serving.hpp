#pragma once
// --stage, --fuse-threads and the HPCLAUNCH_STAGE_* / HPCLAUNCH_FUSE_*
// variables -> the launch spec's image::ServingSpec (pure: plan.cpp calls it).
#include <string>

#include "image/serving_spec.hpp"
#include "launcher/plan.hpp"
#include "launcher/run_options.hpp"

namespace hl::launcher {

// Throws hl::Error naming the option or variable and the fix.
image::ServingSpec plan_serving(const RunOptions& options, const LaunchContext& context);

// The most ranks one node gets: --ntasks-per-node, else ntasks spread over
// `nodes` (0: not known, as with mpirun --hostfile).
int ranks_per_node(const RunOptions& options, int ntasks, int nodes);

// How this launch could stage its image: one machine, the front end's own
// copy; under Slurm, sbcast to the allocation's nodes (only when the launch
// uses all of them: sbcast copies to every one). Anywhere else staging is
// not possible: --stage memory or DIR is refused (one line), auto is none.
// `nodes`: the launch's nodes (0: not known, mpirun --hostfile).
StageTarget plan_stage_target(const RunOptions& options, const LaunchContext& context, Launcher launcher,
                              bool local_holder, int nodes, const std::string& group);
std::string describe_stage_target(const StageTarget& target);

}  // namespace hl::launcher
