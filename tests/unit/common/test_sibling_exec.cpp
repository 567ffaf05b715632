#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "common/error.hpp"
#include "common/self_path.hpp"
#include "common/strings.hpp"

using namespace hl;

namespace {

std::string this_binary() {
  char path[PATH_MAX] = {};
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  return std::string(path, n > 0 ? static_cast<std::size_t>(n) : 0);
}

}  // namespace

TEST(SiblingExec, PathIsNextToTheRunningBinary) {
  EXPECT_EQ(sibling_binary("hpclaunch-import"), dirname_of(this_binary()) + "/hpclaunch-import");
}

TEST(SiblingExec, MissingBinaryIsOneLineNamingThePath) {
  char arg0[] = "import";
  char* argv[] = {arg0, nullptr};
  std::string path = dirname_of(this_binary()) + "/hl-no-such-sibling";
  try {
    exec_sibling("hl-no-such-sibling", argv);
    FAIL() << "exec_sibling returned";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot run `" + path + "`: No such file or directory");
  }
}
