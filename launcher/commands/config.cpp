// hpclaunch config: the merged site and user configuration (config/), each
// value with the file and line it came from.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/cli_parse.hpp"
#include "common/env.hpp"
#include "launcher/commands/commands.hpp"
#include "launcher/run_cli.hpp"

namespace hl::launcher {

int config_command(int argc, char** argv) {
  CLI::App app{"hpclaunch config: the effective site and user configuration, and where each value came from",
               "hpclaunch config"};
  app.footer(R"(
Read in this order, each directory's files in lexical order (a user's entry
wins unless the site marked it fixed):
  $HPCLAUNCH_CONFIG_DIR or /etc/hpclaunch: hpclaunch.conf, environ.d/*.env, mounts.d/*.fstab, hooks.d/*.sh
  $XDG_CONFIG_HOME/hpclaunch or ~/.config/hpclaunch: the same)");
  if (!parse_command_line(app, argc, argv, "hpclaunch config")) return 0;
  fmt::print("{}", describe_effective_config(environment_of_this_process()));
  return 0;
}

}  // namespace hl::launcher
