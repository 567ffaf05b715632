#pragma once
// The command-line options of `hpclaunch run` and `hpclaunch exec`
// (CLI11), parsed into RunOptions: the one edge where text becomes typed.
#include <optional>
#include <string>

#include "launcher/run_options.hpp"

namespace hl::launcher {

// `hpclaunch [run] ...`. nullopt after printing --help; throws hl::Error.
std::optional<RunOptions> parse_run_options(int argc, char** argv);
// `hpclaunch exec ...` (companion mode): the container and rank options
// only; the task layout is srun's or mpirun's.
std::optional<RunOptions> parse_exec_options(int argc, char** argv);

// `hpclaunch config`: the merged site and user configuration for `env`,
// every value with the file and line it came from.
std::string describe_effective_config(const EnvList& env);

}  // namespace hl::launcher
