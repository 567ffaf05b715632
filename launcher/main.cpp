// hpclaunch: the command table (crun's shape: one file per command under
// commands/). Errors are caught here, once, and printed as one line. The
// node-side work (node step, holder, topology) is hpclaunch-node, each rank
// runs hpclaunch-join, and import is hpclaunch-import: this binary stays
// small, since every front end and every companion task execs it.
#include <string_view>

#include <fmt/format.h>

#include "common/main_guard.hpp"
#include "launcher/commands/commands.hpp"

using namespace hl;

namespace {

struct Command {
  std::string_view name;
  int (*run)(int argc, char** argv);
};

constexpr Command kCommands[] = {
    {"run", launcher::run_command},
    {"exec", launcher::exec_command},
    {"import", launcher::import_command},
    {"topology", launcher::topology_command},
    {"ps", launcher::ps_command},
    {"stop", launcher::stop_command},
    {"save", launcher::save_command},
    {"version", launcher::version_command},
    {"--version", launcher::version_command},
};

int dispatch(int argc, char** argv) {
  std::string_view name = argc > 1 ? argv[1] : "";
  for (const auto& command : kCommands) {
    if (command.name == name) return command.run(argc - 1, argv + 1);
  }
  // `hpclaunch -n 4 --image x.sqsh prog`: run is the default command.
  return launcher::run_command(argc, argv);
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return dispatch(argc, argv); });
}
