// The subcommands that are other binaries' work: `import` is hpclaunch-import
// (curl, OpenSSL, libarchive, the squashfs writer) and `topology` is
// hpclaunch-node (hwloc). hpclaunch execs them, found next to itself, so it
// loads none of their libraries: every companion task and front end execs it.
#include <unistd.h>

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
namespace {

// execv(binary, prefix... argv[1..]); returns only by throwing.
[[noreturn]] void exec_sibling(const char* binary, std::vector<std::string> prefix, int argc, char** argv) {
  std::string path = sibling_binary(binary);
  std::vector<std::string> args = {path};
  args.insert(args.end(), prefix.begin(), prefix.end());
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  std::vector<char*> c_args;
  for (auto& a : args) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  ::execv(path.c_str(), c_args.data());
  throw system_error(errno, fmt::format("cannot run `{}`", path),
                     "");  // keep hpclaunch, hpclaunch-node, hpclaunch-join, hpclaunch-import side by side
}

}  // namespace

int import_command(int argc, char** argv) { exec_sibling("hpclaunch-import", {}, argc, argv); }

int topology_command(int argc, char** argv) { exec_sibling("hpclaunch-node", {"topology"}, argc, argv); }

int version_command(int, char**) {
  fmt::print("hpclaunch {}\n", HPCLAUNCH_VERSION);
  return 0;
}

}  // namespace hl::launcher
