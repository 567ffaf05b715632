#pragma once
// Where our own binaries are: hpclaunch, hpclaunch-node, hpclaunch-join and
// hpclaunch-import are installed side by side, and each finds the others
// next to itself (not on PATH: a rank's PATH is the container's). hpclaunch
// execs the others instead of linking their libraries.
#include <string>
#include <string_view>
#include <vector>

namespace hl {

// Absolute path of the running binary (/proc/self/exe).
std::string self_path();
// `name` in the directory of the running binary.
std::string sibling_binary(std::string_view name);

// Replaces this process with sibling_binary(name), with `argv` as its argv
// (argv[0] included) and this environment. Returns only by throwing
// hl::Error "cannot run `PATH`: strerror".
[[noreturn]] void exec_sibling(std::string_view name, char** argv);
[[noreturn]] void exec_sibling(std::string_view name, const std::vector<std::string>& argv);

}  // namespace hl
