#include "common/sibling_exec.hpp"

#include <unistd.h>

#include <climits>

#include "common/error.hpp"
#include "common/strings.hpp"

namespace hl {

std::string sibling_path(std::string_view name) {
  char path[PATH_MAX] = {};
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw_errno("readlink", "/proc/self/exe");
  return dirname_of(std::string_view(path, static_cast<std::size_t>(n))) + "/" + std::string(name);
}

void exec_sibling(std::string_view name, char** argv) {
  std::string path = sibling_path(name);
  ::execv(path.c_str(), argv);
  throw_errno("cannot run", path);
}

}  // namespace hl
