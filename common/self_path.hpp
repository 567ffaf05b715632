#pragma once
// Where our own binaries are: hpclaunch, hpclaunch-node, hpclaunch-join and
// hpclaunch-import are installed side by side, and each finds the others
// next to itself (not on PATH: a rank's PATH is the container's).
#include <string>
#include <string_view>

namespace hl {

// Absolute path of the running binary (/proc/self/exe).
std::string self_path();
// `name` in the directory of the running binary.
std::string sibling_binary(std::string_view name);

}  // namespace hl
