#pragma once
#include "launcher/plan.hpp"

namespace hl::launcher {

// Parses `hpclaunch [run] ...`. Returns nullopt after printing --help; throws
// hl::Error for bad options.
std::optional<RunOptions> parse_run_options(int argc, char** argv);

}  // namespace hl::launcher
