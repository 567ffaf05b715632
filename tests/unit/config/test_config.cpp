#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/config.hpp"
#include "tests/unit/error_text.hpp"

using namespace hl;
using namespace hl::config;
using hl::testing::error_text;

namespace {

const OptionTable kKnown = {{"workdir", {}},
                            {"join-timeout", {}},
                            {"contain", {true, false}},
                            {"mount", {false, true}},
                            {"env", {false, true}}};

ConfigFile site(std::string name, std::string content) {
  return ConfigFile{"/etc/hpclaunch/" + name, name.substr(name.rfind('/') + 1), std::move(content), true};
}
ConfigFile user(std::string name, std::string content) {
  return ConfigFile{"/home/u/.config/hpclaunch/" + name, name.substr(name.rfind('/') + 1), std::move(content), false};
}

}  // namespace

TEST(ConfigConf, KeysValuesFlagsAndFixed) {
  auto settings = parse_conf(site("hpclaunch.conf",
                                  "# defaults\n\njoin-timeout = 300\nfixed contain = yes\n"
                                  "--workdir=\"/scratch\"\nmount = /a:/a\nmount = /b:/b\n"),
                             kKnown);
  ASSERT_EQ(settings.size(), 5u);
  EXPECT_EQ(settings[0].key, "join-timeout");
  EXPECT_EQ(settings[0].value, "300");
  EXPECT_EQ(settings[0].origin, "/etc/hpclaunch/hpclaunch.conf:3");
  EXPECT_EQ(settings[1].value, "true");
  EXPECT_TRUE(settings[1].fixed);
  EXPECT_EQ(settings[2].value, "/scratch") << "quotes and the dashes are taken off";
}

TEST(ConfigConf, ErrorsNameFileAndLine) {
  auto conf = [](std::string content, bool is_site = true) {
    return error_text(
        [&] { parse_conf(is_site ? site("hpclaunch.conf", content) : user("hpclaunch.conf", content), kKnown); });
  };
  EXPECT_EQ(conf("join-timeout = 3\nwrkdir = /x\n"), "`/etc/hpclaunch/hpclaunch.conf` line 2: unknown key `wrkdir`");
  EXPECT_EQ(conf("workdir /x\n"), "`/etc/hpclaunch/hpclaunch.conf` line 1: expected KEY = VALUE");
  EXPECT_EQ(conf("contain = maybe\n"),
            "`/etc/hpclaunch/hpclaunch.conf` line 1: `contain` is a flag: true or false, not `maybe`");
  EXPECT_EQ(conf("workdir =\n"), "`/etc/hpclaunch/hpclaunch.conf` line 1: `workdir` has no value");
  EXPECT_EQ(conf("fixed workdir = /x\n", false),
            "`/home/u/.config/hpclaunch/hpclaunch.conf` line 1: `fixed` is for the site's configuration");
}

TEST(ConfigEnv, AssignmentsAndErrors) {
  auto env = parse_env_file(
      site("environ.d/10-net.env", "export OMPI_MCA_btl_tcp_if_include=eth0\nfixed SITE='x y'\nP=/opt/bin:${PATH}\n"));
  ASSERT_EQ(env.size(), 3u);
  EXPECT_EQ(env[0].key, "OMPI_MCA_btl_tcp_if_include");
  EXPECT_EQ(env[1].value, "x y");
  EXPECT_TRUE(env[1].fixed);
  EXPECT_EQ(env[2].value, "/opt/bin:${PATH}") << "expanded per rank, not here";
  EXPECT_EQ(error_text([] { parse_env_file(site("environ.d/x.env", "GOOD=1\n1BAD=2\n")); }),
            "`/etc/hpclaunch/environ.d/x.env` line 2: expected KEY=VALUE, not `1BAD=2`");
  EXPECT_EQ(expand_env_value("/opt/bin:${PATH}:${NONE}", {{"PATH", "/usr/bin"}}), "/opt/bin:/usr/bin:");
}

TEST(ConfigMerge, UserWinsUnlessFixed) {
  ConfigSources s;
  s.conf = {site("hpclaunch.conf", "fixed join-timeout = 300\nworkdir = /site\nmount = /a:/a\n"),
            user("hpclaunch.conf", "join-timeout = 5\nworkdir = /mine\nmount = /b:/b\n")};
  s.environ = {site("environ.d/10.env", "fixed A=site\nB=site\n"), user("environ.d/10.env", "A=user\nB=user\n")};
  s.mounts = {site("mounts.d/10.fstab", "/s1 /one none rbind,x-fixed\n/s2 /two\n"),
              user("mounts.d/10.fstab", "/u1 /one\n/u2 /two\n")};
  s.hooks = {site("hooks.d/10-mpi.sh", "#!/bin/sh\n# hpclaunch: fixed\n"),
             site("hooks.d/20-x.sh", "#!/bin/sh\n"),
             site("hooks.d/30-y.sh", "#!/bin/sh\n"),
             user("hooks.d/10-mpi.sh", "#!/bin/sh\nmine\n"),
             user("hooks.d/20-x.sh", "\n"),
             user("hooks.d/30-y.sh", "#!/bin/sh\nmine\n"),
             user("hooks.d/40-z.sh", "#!/bin/sh\n")};
  SiteConfig c = merge_config(s, kKnown, {});
  EXPECT_EQ(c.option("join-timeout")->value, "300");
  EXPECT_EQ(c.option("workdir")->value, "/mine");
  EXPECT_EQ(c.option("workdir")->origin, "/home/u/.config/hpclaunch/hpclaunch.conf:2");
  EXPECT_EQ(std::count_if(c.options.begin(), c.options.end(), [](auto& o) { return o.key == "mount"; }), 2);
  ASSERT_EQ(c.env.size(), 3u);
  EXPECT_EQ(c.env[0].value, "site");
  EXPECT_EQ(c.env[2].key, "B");
  EXPECT_EQ(c.env[2].value, "user") << "assignments apply in order: the user's comes last";
  ASSERT_EQ(c.mounts.size(), 2u);
  EXPECT_EQ(c.mounts[0].source, "/s1") << "fixed";
  EXPECT_EQ(c.mounts[1].source, "/u2");
  ASSERT_EQ(c.hooks.size(), 3u);
  EXPECT_EQ(c.hooks[0].path, "/etc/hpclaunch/hooks.d/10-mpi.sh") << "fixed";
  EXPECT_EQ(c.hooks[1].path, "/home/u/.config/hpclaunch/hooks.d/30-y.sh") << "20-x disabled by an empty file";
  EXPECT_EQ(c.hooks[2].name, "40-z.sh");
  EXPECT_EQ(c.warnings.size(), 4u);  // join-timeout, A, the mount at /one, 10-mpi.sh
  std::string text = describe_config(c);
  EXPECT_NE(text.find("join-timeout = 300    # /etc/hpclaunch/hpclaunch.conf:1 (fixed)"), std::string::npos) << text;
}

TEST(ConfigFiles, ReadsDropInsInOrderAndRefusesFifos) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("hl-config-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "site/environ.d");
  fs::create_directories(dir / "site/hooks.d");
  std::ofstream(dir / "site/hpclaunch.conf") << "workdir = /x\n";
  std::ofstream(dir / "site/environ.d/20-b.env") << "B=2\n";
  std::ofstream(dir / "site/environ.d/10-a.env") << "A=1\n";
  std::ofstream(dir / "site/environ.d/10-a.env~") << "BACKUP=1\n";
  std::ofstream(dir / "site/environ.d/.hidden.env") << "HIDDEN=1\n";
  EnvList env = {{"HPCLAUNCH_CONFIG_DIR", (dir / "site").string()}, {"XDG_CONFIG_HOME", (dir / "user").string()}};
  ConfigSources s = read_config_sources(env);
  EXPECT_EQ(s.site_dir, (dir / "site").string());
  EXPECT_EQ(s.user_dir, (dir / "user/hpclaunch").string());
  ASSERT_EQ(s.conf.size(), 1u);
  ASSERT_EQ(s.environ.size(), 2u);
  EXPECT_EQ(s.environ[0].name, "10-a.env");
  EXPECT_EQ(s.environ[1].name, "20-b.env");
  ASSERT_EQ(::mkfifo((dir / "site/hooks.d/50-fifo.sh").c_str(), 0644), 0);
  EXPECT_NE(error_text([&] { read_config_sources(env); }).find("50-fifo.sh"), std::string::npos);
  fs::remove_all(dir);
  EXPECT_EQ(user_config_dir({{"HOME", "/home/u"}}), "/home/u/.config/hpclaunch");
  EXPECT_EQ(site_config_dir({}), "/etc/hpclaunch");
}
