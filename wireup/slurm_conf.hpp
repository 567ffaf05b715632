#pragma once
// Values of Slurm's KEY=VALUE configuration files (slurm.conf, mpi.conf):
// keys are case-insensitive, '#' starts a comment, blanks around are not
// part of the value. Pure: unit-tested.
#include <optional>
#include <string>
#include <string_view>

namespace hl::wireup {

// The last value of `key` in `text` (Slurm reads the file in order).
std::optional<std::string> slurm_conf_value(std::string_view text, std::string_view key);

}  // namespace hl::wireup
