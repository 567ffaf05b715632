#pragma once
// One way every hpclaunch command parses its CLI11 options: --help prints
// and returns false; a bad option becomes an hl::Error naming the fix.
// Header-only: only the targets that already use CLI11 include it.
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/error.hpp"

namespace hl {

inline bool parse_command_line(CLI::App& app, int argc, char** argv, const std::string& help_command,
                               const std::string& prefix = {}, int exit_code = 1) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    return false;
  } catch (const CLI::ParseError& e) {
    throw Error(prefix + e.what(), fmt::format("see {} --help", help_command), exit_code);
  }
  return true;
}

}  // namespace hl
