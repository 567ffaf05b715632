#pragma once
// A launch with --name: joins the named container where it exists, makes
// it (and records it) on the nodes where it does not, then runs only the app
// step. The container outlives the launch: a detached holder on one
// machine, a node step that lasts the job under Slurm.
#include "launcher/plan.hpp"

namespace hl::launcher {

int run_named(const LaunchPlan& plan, bool verbose);

}  // namespace hl::launcher
