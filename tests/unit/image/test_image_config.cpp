#include <gtest/gtest.h>

#include "image/hooks.hpp"
#include "image/image_config.hpp"
#include "tests/unit/error_text.hpp"

using namespace hl;
using namespace hl::image;

namespace {

const char* kConfig = R"({"Env": ["PATH=/usr/bin"], "WorkingDir": "/workspace", "Entrypoint": ["/entry.sh"],
                         "Cmd": ["serve", "--port", "80"], "User": "1000:1000"})";

ImageConfig imported() { return image_config_from_files(std::string(kConfig), std::nullopt, "/i.sqsh"); }

CommandOptions with(std::vector<std::string> command, EntrypointMode mode = EntrypointMode::image, bool wrap = false,
                    std::string program = {}) {
  CommandOptions o;
  o.command = std::move(command);
  o.entrypoint = mode;
  o.wrap = wrap;
  o.entrypoint_program = std::move(program);
  return o;
}

using Argv = std::vector<std::string>;

}  // namespace

TEST(ImageConfig, ReadsWhatImportWrites) {
  ImageConfig c = imported();
  EXPECT_EQ(c.kind, ImageKind::hpclaunch);
  EXPECT_EQ(c.entrypoint, Argv{"/entry.sh"});
  EXPECT_EQ(c.cmd, (Argv{"serve", "--port", "80"}));
  EXPECT_EQ(c.workdir, "/workspace");
  EXPECT_EQ(c.user, "1000:1000");
  ImageConfig empty = image_config_from_files(std::string(R"({"Entrypoint": null, "Cmd": []})"), std::nullopt, "i");
  EXPECT_TRUE(empty.entrypoint.empty());
  EXPECT_TRUE(empty.cmd.empty());
}

TEST(ImageConfig, EnrootImagesRunTheirRcScript) {
  ImageConfig c = image_config_from_files(std::nullopt, std::string("cd /x\nexec \"$@\"\n"), "i");
  EXPECT_EQ(c.kind, ImageKind::enroot);
  EXPECT_EQ(c.entrypoint, (Argv{"/bin/sh", "/etc/rc"}));
  EXPECT_EQ(rank_command(c, with({"hostname"}, EntrypointMode::image, true), "i"),
            (Argv{"/bin/sh", "/etc/rc", "hostname"}));
  EXPECT_EQ(image_config_from_files(std::nullopt, std::nullopt, "i").kind, ImageKind::plain);
}

TEST(ImageConfig, BadConfigIsOneLine) {
  EXPECT_EQ(hl::testing::error_text([] { image_config_from_files(std::string("[1]"), std::nullopt, "/i.sqsh"); }),
            "image `/i.sqsh`: `/.hpclaunch/config.json` is not a JSON object");
  EXPECT_EQ(
      hl::testing::error_text([] { image_config_from_files(std::string(R"({"Cmd": "x"})"), std::nullopt, "/i.sqsh"); }),
      "image `/i.sqsh`: `/.hpclaunch/config.json` has a bad `Cmd`");
  EXPECT_THROW(image_config_from_files(std::string(R"({"Entrypoint": [1]})"), std::nullopt, "i"), Error);
  EXPECT_THROW(image_config_from_files(std::string("{not json"), std::nullopt, "i"), Error);
}

TEST(ImageConfig, RankCommandFollowsTheTable) {
  ImageConfig c = imported();
  EXPECT_EQ(rank_command(c, with({}), "i"), (Argv{"/entry.sh", "serve", "--port", "80"}));
  EXPECT_EQ(rank_command(c, with({"hostname"}), "i"), Argv{"hostname"}) << "a program alone";
  EXPECT_EQ(rank_command(c, with({"hostname"}, EntrypointMode::image, true), "i"), (Argv{"/entry.sh", "hostname"}));
  EXPECT_EQ(rank_command(c, with({}, EntrypointMode::replace, false, "/bin/env"), "i"), Argv{"/bin/env"});
  EXPECT_EQ(rank_command(c, with({"-i"}, EntrypointMode::replace, false, "/bin/env"), "i"), (Argv{"/bin/env", "-i"}));
  EXPECT_EQ(rank_command(c, with({}, EntrypointMode::none), "i"), (Argv{"serve", "--port", "80"}));
  EXPECT_EQ(rank_command(c, with({"hostname"}, EntrypointMode::none), "i"), Argv{"hostname"});
}

TEST(ImageConfig, NothingToRunIsOneLine) {
  ImageConfig plain;
  EXPECT_EQ(hl::testing::error_text([&] { rank_command(plain, with({}), "/i.sqsh"); }),
            "no program given, and image `/i.sqsh` has no Entrypoint or Cmd");
  ImageConfig only_entrypoint = imported();
  only_entrypoint.cmd.clear();
  EXPECT_EQ(hl::testing::error_text([&] { rank_command(only_entrypoint, with({}, EntrypointMode::none), "/i.sqsh"); }),
            "no program given, and image `/i.sqsh` has no Cmd");
}

TEST(ImageConfig, UserWarning) {
  ImageConfig c = imported();
  EXPECT_EQ(user_warning(c, false, 1001, "/i.sqsh"),
            "image `/i.sqsh` asks to run as user `1000:1000`; ranks run as you (uid 1001) (an unprivileged "
            "container maps only your uid)");
  c.user = "root";
  EXPECT_EQ(user_warning(c, true, 1001, "/i.sqsh"), "") << "--root honours it";
  EXPECT_NE(user_warning(c, false, 1001, "/i.sqsh").find("add --root"), std::string::npos);
  c.user.clear();
  EXPECT_EQ(user_warning(c, false, 1001, "/i.sqsh"), "");
}

TEST(Hooks, FailureQuotesTheTailOfTheOutputOnOneLine) {
  HookSpec hook{"10-mpi.sh", "/site/hooks.d/10-mpi.sh", "/site/hooks.d/10-mpi.sh"};
  EXPECT_EQ(hook_failure_message(hook, "exit 3", "starting\n\n  no libmpi.so.40 on the host\r\n"),
            "hook `10-mpi.sh` (/site/hooks.d/10-mpi.sh) failed (exit 3): starting; no libmpi.so.40 on the host");
  EXPECT_EQ(hook_failure_message(hook, "SIGKILL", ""),
            "hook `10-mpi.sh` (/site/hooks.d/10-mpi.sh) failed (SIGKILL) with no output");
  std::string flood;
  for (int i = 0; i < 1000; ++i) flood += "line " + std::to_string(i) + "\x1b[31m\n";
  std::string message = hook_failure_message(hook, "exit 1", flood);
  EXPECT_LT(message.size(), 500u);
  EXPECT_NE(message.find("line 999"), std::string::npos) << "the last lines count";
  EXPECT_EQ(message.find('\x1b'), std::string::npos) << "no control characters";
}

TEST(Hooks, EnvironmentNamesTheRootAndDropsInternals) {
  ContainerSpec spec;
  spec.image = "/i.sqsh";
  spec.hook_env = {{"MY", "1"}};
  HookSpec hook{"a.sh", "/h/a.sh", "/h/a.sh"};
  EnvList env = hook_environment({{"SLURM_JOB_ID", "5"}, {"HPCLAUNCH_INTERNAL_LAUNCH_SPEC", "{}"}}, spec, hook,
                                 "/run/x/root", "/run/x/hook-environ");
  EXPECT_EQ(env_value(env, "SLURM_JOB_ID"), "5");
  EXPECT_FALSE(env_has(env, "HPCLAUNCH_INTERNAL_LAUNCH_SPEC"));
  EXPECT_EQ(env_value(env, "MY"), "1");
  EXPECT_EQ(env_value(env, "HPCLAUNCH_ROOTFS"), "/run/x/root");
  EXPECT_EQ(env_value(env, "HPCLAUNCH_IMAGE"), "/i.sqsh");
  EXPECT_EQ(env_value(env, "HPCLAUNCH_HOOK_ENVIRON"), "/run/x/hook-environ");
}
