#pragma once
#include "common/unique_fd.hpp"

namespace hl {

// Blocks SIGTERM, SIGINT and SIGHUP and returns a signalfd for them, so a
// poll loop handles termination in order (children get an empty mask back
// in ChildProcess::spawn).
UniqueFd block_termination_signals();

}  // namespace hl
