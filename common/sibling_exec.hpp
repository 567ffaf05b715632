#pragma once
// Our helper binaries (hpclaunch-import, hpclaunch-node, ...) lie next to
// hpclaunch; it execs them instead of linking their libraries.
#include <string>
#include <string_view>

namespace hl {

// The directory of the running binary (dirname of /proc/self/exe) + "/" + name.
std::string sibling_path(std::string_view name);

// Replaces this process with sibling_path(name), passing `argv` as is (argv[0]
// included) and the environment. Returns only by throwing hl::Error
// "cannot run `PATH`: strerror".
[[noreturn]] void exec_sibling(std::string_view name, char** argv);

}  // namespace hl
