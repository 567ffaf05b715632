#include "common/self_path.hpp"

#include <unistd.h>

#include <climits>

#include "common/error.hpp"
#include "common/strings.hpp"

namespace hl {

std::string self_path() {
  char path[PATH_MAX] = {};
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw_errno("readlink", "/proc/self/exe");
  return std::string(path, static_cast<std::size_t>(n));
}

std::string sibling_binary(std::string_view name) { return dirname_of(self_path()) + "/" + std::string(name); }

void exec_sibling(std::string_view name, char** argv) {
  std::string path = sibling_binary(name);
  ::execv(path.c_str(), argv);
  throw_errno("cannot run", path);
}

void exec_sibling(std::string_view name, const std::vector<std::string>& argv) {
  std::vector<char*> pointers;
  for (const auto& a : argv) pointers.push_back(const_cast<char*>(a.c_str()));
  pointers.push_back(nullptr);
  exec_sibling(name, pointers.data());
}

}  // namespace hl
