#include "common/log.hpp"

#include <unistd.h>

#include <string>

namespace hl::log {
namespace {
bool g_verbose = false;
std::string g_origin;
}  // namespace

void set_verbose(bool on) { g_verbose = on; }
bool verbose() { return g_verbose; }
void set_origin(std::string origin) { g_origin = std::move(origin); }

void write_line(std::string_view level, std::string_view message) {
  // One write() per line so lines of concurrent ranks do not interleave.
  std::string line = "hpclaunch: ";
  if (!g_origin.empty()) line += g_origin + ": ";
  line += level;
  line += message;
  line += '\n';
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace hl::log
