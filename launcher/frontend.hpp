#pragma once
// Runs a launch plan: starts the node step and the app step at the same time
// (joiners wait for their holder, so the user pays about one launch), stops
// the app step if the node step fails, forwards SIGINT/SIGTERM, and returns
// the app step's exit code (128+N when a rank was killed by signal N).
#include "launcher/plan.hpp"

namespace hl::launcher {

int run_plan(const LaunchPlan& plan, bool verbose);

}  // namespace hl::launcher
