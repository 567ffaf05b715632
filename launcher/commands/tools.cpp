// The subcommands that are other binaries' work: `import` is hpclaunch-import
// (curl, OpenSSL, libarchive, the squashfs writer) and `topology` is
// hpclaunch-node (hwloc). hpclaunch execs them, found next to itself, so it
// loads none of their libraries: every companion task and front end execs it.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/self_path.hpp"
#include "launcher/commands/commands.hpp"

#ifndef HPCLAUNCH_VERSION
#define HPCLAUNCH_VERSION "unknown"
#endif

namespace hl::launcher {

// argv[0] is "import": hpclaunch-import takes it as its own name.
int import_command(int, char** argv) { exec_sibling("hpclaunch-import", argv); }

int topology_command(int argc, char** argv) {
  std::vector<std::string> args = {"hpclaunch-node", "topology"};
  args.insert(args.end(), argv + 1, argv + argc);
  exec_sibling("hpclaunch-node", args);
}

int version_command(int, char**) {
  fmt::print("hpclaunch {}\n", HPCLAUNCH_VERSION);
  return 0;
}

}  // namespace hl::launcher
