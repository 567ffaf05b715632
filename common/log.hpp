#pragma once
// Messages to stderr, every line prefixed "hpclaunch: " (pyxis does the same)
// so the front end can pick ours out of captured launcher output.
#include <string_view>

#include <fmt/format.h>

namespace hl::log {

void set_verbose(bool on);
bool verbose();
// Prefix for this process's lines, e.g. the node name in the node step.
void set_origin(std::string origin);
void write_line(std::string_view level, std::string_view message);

template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (verbose()) write_line("", fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write_line("warning: ", fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write_line("error: ", fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace hl::log
