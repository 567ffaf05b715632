// hpclaunch: the command table (crun's shape: one file per command under
// commands/). Errors are caught here, once, and printed as one line. The
// node-side work (node step, holder, topology) is hpclaunch-node, each rank
// runs hpclaunch-join, and import is hpclaunch-import: this binary stays
// small, since every front end and every companion task execs it.
//
// The table is also what `hpclaunch help` prints: the man page and the bash
// completion are generated from that output (packaging/), so a command added
// here appears in both.
#include <string_view>

#include <fmt/format.h>

#include "common/main_guard.hpp"
#include "launcher/commands/commands.hpp"

using namespace hl;

namespace {

int help_command(int argc, char** argv);

struct Command {
  std::string_view name;
  int (*run)(int argc, char** argv);
  std::string_view summary;  // what `hpclaunch help` says; "" hides an alias
};

constexpr Command kCommands[] = {
    {"run", launcher::run_command, "launch PROGRAM as N ranks in the image (the default command)"},
    {"exec", launcher::exec_command, "companion mode: run as each task of srun or mpirun"},
    {"import", launcher::import_command, "import a docker:// image into a squashfs file"},
    {"topology", launcher::topology_command, "this node's topology and the binding plan for its ranks"},
    {"ps", launcher::ps_command, "the named containers (--name) of this job or machine"},
    {"stop", launcher::stop_command, "stop a named container"},
    {"save", launcher::save_command, "write this node's named container as a new squashfs image"},
    {"doctor", launcher::doctor_command, "check that this node can run hpclaunch, and how to fix what is missing"},
    {"config", launcher::config_command, "the effective site and user configuration, and where each value came from"},
    {"version", launcher::version_command, "print the version"},
    {"help", help_command, "list the commands; `hpclaunch help COMMAND` shows a command's options"},
    {"--version", launcher::version_command, ""},
};

const Command* find_command(std::string_view name) {
  for (const auto& command : kCommands) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

// `hpclaunch help`: one line per command ("  NAME  SUMMARY" under
// "Commands:", a format packaging/ parses); `hpclaunch help COMMAND`: that
// command's --help.
int help_command(int argc, char** argv) {
  std::string_view asked = argc > 1 ? argv[1] : "";
  if (!asked.empty() && asked != "--help" && asked != "-h") {
    const Command* command = find_command(argv[1]);
    if (command == nullptr || command->summary.empty()) {
      throw Error(fmt::format("no command `{}`", argv[1]), "see hpclaunch help");
    }
    char help[] = "--help";
    char* args[] = {argv[1], help, nullptr};
    return command->run(2, args);
  }
  fmt::print(
      "hpclaunch: run MPI ranks in one shared unprivileged container per node\n"
      "Usage: hpclaunch [COMMAND] [OPTIONS] [ARGS...]\n\nCommands:\n");
  for (const auto& command : kCommands) {
    if (!command.summary.empty()) fmt::print("  {:<10} {}\n", command.name, command.summary);
  }
  fmt::print(
      "\nWithout a command, hpclaunch runs `run`: hpclaunch -n 4 --image app.sqsh ./solver\n\n"
      "`hpclaunch COMMAND --help` shows a command's options.\n");
  return 0;
}

int dispatch(int argc, char** argv) {
  std::string_view name = argc > 1 ? argv[1] : "";
  if (const Command* command = find_command(name)) return command->run(argc - 1, argv + 1);
  // `hpclaunch -n 4 --image x.sqsh prog`: run is the default command.
  return launcher::run_command(argc, argv);
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return dispatch(argc, argv); });
}
