#pragma once
// --stage, --fuse-threads and the HPCLAUNCH_STAGE_* / HPCLAUNCH_FUSE_*
// variables -> the launch spec's image::ServingSpec (pure: plan.cpp calls it).
#include "image/serving_spec.hpp"
#include "launcher/run_options.hpp"

namespace hl::launcher {

// Throws hl::Error naming the option or variable and the fix.
image::ServingSpec plan_serving(const RunOptions& options, const LaunchContext& context);

// The most ranks one node gets: --ntasks-per-node, else ntasks spread over
// `nodes` (0: not known, as with mpirun --hostfile).
int ranks_per_node(const RunOptions& options, int ntasks, int nodes);

}  // namespace hl::launcher
