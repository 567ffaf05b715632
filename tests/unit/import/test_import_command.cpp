#include <gtest/gtest.h>

#include <vector>

#include "common/error.hpp"
#include "import/import_command.hpp"

using namespace hl;
using namespace hl::import;

namespace {

std::optional<ImportOptions> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "import");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_import_options(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST(ImportCommand, Defaults) {
  auto o = parse({"docker://ubuntu:22.04"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->uri, "docker://ubuntu:22.04");
  EXPECT_EQ(o->output, "");
  EXPECT_EQ(o->arch, "");
  EXPECT_FALSE(o->insecure);
  EXPECT_FALSE(o->json);
  EXPECT_FALSE(o->force);
  EXPECT_EQ(o->parallel, 4);
  EXPECT_EQ(o->timeout_s, 30);
}

TEST(ImportCommand, AllOptions) {
  auto o = parse({"--insecure", "--json", "-f", "--arch", "arm64", "-o", "x.sqsh", "--cache-dir", "/c", "--credentials",
                  "/cred", "--parallel", "8", "--timeout", "5", "docker://127.0.0.1:5000/a/b:c"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->insecure);
  EXPECT_TRUE(o->json);
  EXPECT_TRUE(o->force);
  EXPECT_EQ(o->arch, "arm64");
  EXPECT_EQ(o->output, "x.sqsh");
  EXPECT_EQ(o->cache_dir, "/c");
  EXPECT_EQ(o->credentials, "/cred");
  EXPECT_EQ(o->parallel, 8);
  EXPECT_EQ(o->timeout_s, 5);
}

TEST(ImportCommand, UsageErrorsExitTwo) {
  for (auto args :
       std::vector<std::vector<std::string>>{{}, {"--bogus", "docker://a"}, {"--parallel", "0", "docker://a"}}) {
    try {
      parse(args);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), 2);
      EXPECT_EQ(e.hint(), "see hpclaunch import --help");
    }
  }
}
