#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include "launcher/site_config.hpp"
#include "tests/unit/error_text.hpp"

using namespace hl;
using namespace hl::launcher;

namespace {

struct Options {
  std::string workdir;
  bool contain = false;
  int join_timeout = 120;
  std::vector<std::string> env;
};

void define(CLI::App& app, Options& o) {
  app.add_option("--workdir", o.workdir);
  app.add_flag("--contain", o.contain);
  app.add_option("--join-timeout", o.join_timeout)->default_val(120);
  app.add_option("--env", o.env)->allow_extra_args(false);
}

config::OptionSetting setting(std::string key, std::string value, bool fixed = false) {
  return config::OptionSetting{std::move(key), std::move(value), "/site/hpclaunch.conf:1", fixed};
}

void parse(CLI::App& app, std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());
  app.parse(args);
}

}  // namespace

TEST(SiteConfig, OptionTableKnowsFlagsAndRepeatables) {
  Options o;
  CLI::App app;
  define(app, o);
  auto table = option_table(app);
  EXPECT_TRUE(table.at("contain").flag);
  EXPECT_FALSE(table.at("workdir").flag);
  EXPECT_TRUE(table.at("env").repeatable);
  EXPECT_FALSE(table.at("join-timeout").repeatable);
  EXPECT_FALSE(table.contains("help"));
}

TEST(SiteConfig, ConfigurationFillsWhatTheCommandLineLeftOut) {
  Options o;
  CLI::App app;
  define(app, o);
  parse(app, {"--workdir", "/cli", "--env", "B=2"});
  config::SiteConfig c;
  c.options = {setting("workdir", "/conf"), setting("contain", "true"), setting("join-timeout", "300"),
               setting("env", "A=1")};
  apply_config_options(app, c);
  EXPECT_EQ(o.workdir, "/cli") << "the command line wins";
  EXPECT_TRUE(o.contain);
  EXPECT_EQ(o.join_timeout, 300);
  EXPECT_EQ(o.env, (std::vector<std::string>{"A=1", "B=2"})) << "repeatable: the configuration's first";
}

TEST(SiteConfig, FixedOptionsAndBadValuesAreOneLine) {
  Options o;
  CLI::App app;
  define(app, o);
  parse(app, {"--join-timeout", "5"});
  config::SiteConfig c;
  c.options = {setting("join-timeout", "300", true)};
  EXPECT_EQ(hl::testing::error_text([&] { apply_config_options(app, c); }),
            "--join-timeout is fixed by the site configuration (/site/hpclaunch.conf:1) to `300`");
  Options o2;
  CLI::App app2;
  define(app2, o2);
  parse(app2, {});
  c.options = {setting("join-timeout", "soon")};
  EXPECT_NE(hl::testing::error_text([&] { apply_config_options(app2, c); }).find("`/site/hpclaunch.conf:1`: "),
            std::string::npos);
}

TEST(SiteConfig, SiteInputsKeepWhatIsFixed) {
  config::SiteConfig c;
  c.env = {{"A", "1", "/s/environ.d/a.env:1", false}, {"B", "2", "/s/environ.d/a.env:2", true}};
  c.mounts = {image::bind_mount("/lustre", "/lustre", false, true, true, "/s/mounts.d/fs.fstab:1")};
  c.mount_fixed = {true};
  c.hooks = {{"10-mpi.sh", "/s/hooks.d/10-mpi.sh", "/s/hooks.d/10-mpi.sh", false}};
  SiteInputs in = site_inputs(c);
  EXPECT_EQ(in.env, (EnvList{{"A", "1"}, {"B", "2"}}));
  ASSERT_EQ(in.fixed_env.size(), 1u);
  EXPECT_EQ(in.fixed_env[0].first, "B");
  ASSERT_EQ(in.fixed_mounts.size(), 1u);
  EXPECT_EQ(in.fixed_mounts[0].first, "/lustre");
  ASSERT_EQ(in.hooks.size(), 1u);
  EXPECT_EQ(in.hooks[0].path, "/s/hooks.d/10-mpi.sh");
}
