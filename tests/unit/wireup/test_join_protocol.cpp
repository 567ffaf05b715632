#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.hpp"
#include "tests/unit/error_text.hpp"
#include "wireup/join_protocol.hpp"
#include "wireup/launch_spec.hpp"
#include "wireup/node_setup.hpp"
#include "wireup/rendezvous.hpp"

using namespace hl;
using namespace hl::wireup;

TEST(JoinProtocol, RequestRoundTrip) {
  JoinRequest r;
  r.rank = 5;
  r.local_rank = 1;
  r.local_size = 4;
  r.allowed_cpus = "0-3";
  r.cuda_visible_devices = "2,3";
  r.root_view = true;
  JoinRequest back = decode_request(encode(r));
  EXPECT_EQ(back.allowed_cpus, "0-3");
  EXPECT_EQ(back.cuda_visible_devices, "2,3");
  EXPECT_EQ(back.rank, 5);
  EXPECT_EQ(back.local_rank, 1);
  EXPECT_EQ(back.local_size, 4);
  EXPECT_TRUE(back.root_view);
}

TEST(JoinProtocol, ReplyRoundTrip) {
  JoinReply r;
  r.ok = true;
  r.image_env = {{"PATH", "/usr/bin"}};
  r.binding = "{\"local_rank\":1}";
  r.library_dirs = {"/usr/local/nvidia/lib64"};
  r.argv = {"/bin/sh", "/etc/rc", "hello"};
  r.image_workdir = "/workspace";
  JoinReply back = decode_reply(encode(r));
  EXPECT_EQ(back.argv, r.argv);
  EXPECT_EQ(back.image_workdir, "/workspace");
  EXPECT_TRUE(back.ok);
  EXPECT_EQ(back.binding, r.binding);
  EXPECT_EQ(back.library_dirs, r.library_dirs);
  ASSERT_EQ(back.image_env.size(), 1u);
  EXPECT_EQ(back.image_env[0].second, "/usr/bin");
}

TEST(JoinProtocol, RejectsGarbage) {
  EXPECT_THROW(decode_request("not json"), Error);
  EXPECT_THROW(decode_request("{\"rank\": 1}"), Error);
  EXPECT_THROW(decode_reply("[]"), Error);
}

TEST(JoinProtocol, RankFromOpenMpiEnvironment) {
  JoinRequest r = request_from_environment(
      {{"OMPI_COMM_WORLD_RANK", "7"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "3"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}});
  EXPECT_EQ(r.rank, 7);
  EXPECT_EQ(r.local_rank, 3);
  EXPECT_EQ(r.local_size, 4);
}

TEST(JoinProtocol, LocalSizeFromSlurmTaskList) {
  auto size_on = [](const char* node) {
    return request_from_environment({{"SLURM_PROCID", "9"},
                                     {"SLURM_LOCALID", "0"},
                                     {"SLURM_NODEID", node},
                                     {"SLURM_STEP_TASKS_PER_NODE", "3(x2),2,1"}})
        .local_size;
  };
  EXPECT_EQ(size_on("0"), 3);
  EXPECT_EQ(size_on("1"), 3);
  EXPECT_EQ(size_on("2"), 2);
  EXPECT_EQ(size_on("3"), 1);
  EXPECT_EQ(size_on("4"), 0) << "beyond the list: unknown";
}

TEST(JoinProtocol, LaunchersVariablesStayTheRanksOwn) {
  EnvLayers layers;
  layers.own = {{"PATH", "/host/bin"},
                {"OMPI_COMM_WORLD_RANK", "1"},
                {"PMIX_RANK", "1"},
                {"HOME", "/home/u"},
                {"HPCLAUNCH_INTERNAL_X", "y"}};
  layers.image = {
      {"PATH", "/usr/local/bin:/usr/bin"}, {"OMPI_COMM_WORLD_RANK", "0"}, {"PMIX_SERVER_URI", "bad"}, {"LANG", "C"}};
  layers.device = {{"UCX_NET_DEVICES", "mlx5_1:1"}, {"OMPI_MCA_btl_openib_if_include", "mlx5_1"}};
  layers.user = {{"LANG", "en_US.UTF-8"}, {"OMPI_MCA_btl", "self,vader"}, {"PMIX_RANK", "7"}};
  auto env = compose_environment(layers);
  auto has = [&](const std::string& kv) { return std::find(env.begin(), env.end(), kv) != env.end(); };
  EXPECT_TRUE(has("PATH=/usr/local/bin:/usr/bin")) << "the image's PATH wins over the host's";
  EXPECT_TRUE(has("OMPI_COMM_WORLD_RANK=1")) << "the launcher's variables stay the rank's";
  EXPECT_TRUE(has("PMIX_RANK=1")) << "not even --env changes the rank's identity";
  EXPECT_FALSE(has("PMIX_SERVER_URI=bad")) << "no PMIx variable comes from the image";
  EXPECT_TRUE(has("HOME=/home/u"));
  EXPECT_TRUE(has("LANG=en_US.UTF-8")) << "--env wins over the image";
  EXPECT_TRUE(has("OMPI_MCA_btl=self,vader")) << "--env may set MCA parameters";
  EXPECT_FALSE(has("HPCLAUNCH_INTERNAL_X=y"));
  EXPECT_TRUE(has("UCX_NET_DEVICES=mlx5_1:1")) << "the binding plan's device variables reach the rank";
  EXPECT_TRUE(has("OMPI_MCA_btl_openib_if_include=mlx5_1"));
}

TEST(JoinProtocol, SiteEnvironmentComesAfterTheImageAndExpands) {
  EnvLayers layers;
  layers.own = {{"PATH", "/host/bin"}, {"SLURM_PROCID", "3"}};
  layers.image = {{"PATH", "/usr/bin"}, {"LANG", "C"}};
  layers.site = {{"PATH", "/opt/site/bin:${PATH}"},
                 {"LANG", "C.UTF-8"},
                 {"RANK_DIR", "/scratch/${SLURM_PROCID}"},
                 {"SLURM_PROCID", "0"}};
  layers.user = {{"LANG", "de_DE.UTF-8"}};
  auto env = compose_environment(layers);
  auto has = [&](const std::string& kv) { return std::find(env.begin(), env.end(), kv) != env.end(); };
  EXPECT_TRUE(has("PATH=/opt/site/bin:/usr/bin")) << "${PATH} is the image's";
  EXPECT_TRUE(has("RANK_DIR=/scratch/3"));
  EXPECT_TRUE(has("SLURM_PROCID=3")) << "environ.d cannot change the rank's identity";
  EXPECT_TRUE(has("LANG=de_DE.UTF-8")) << "--env wins over environ.d";
}

TEST(JoinProtocol, CleanenvKeepsTheKeepListAndTheLaunchers) {
  EnvLayers layers;
  layers.cleanenv = true;
  layers.own = {{"TERM", "xterm"},
                {"HOME", "/home/u"},
                {"LC_ALL", "C"},
                {"PYTHONPATH", "/host/py"},
                {"SLURM_JOB_ID", "9"},
                {"OMPI_MCA_x", "1"},
                {"LD_PRELOAD", "/host/lib.so"}};
  layers.image = {{"PATH", "/usr/bin"}};
  layers.user = {{"PYTHONPATH", "/mine"}};
  auto env = compose_environment(layers);
  std::vector<std::string> expected = {"TERM=xterm",   "HOME=/home/u",  "LC_ALL=C",        "SLURM_JOB_ID=9",
                                       "OMPI_MCA_x=1", "PATH=/usr/bin", "PYTHONPATH=/mine"};
  EXPECT_EQ(env, expected);
  EXPECT_TRUE(kept_by_cleanenv("USER"));
  EXPECT_FALSE(kept_by_cleanenv("LD_LIBRARY_PATH"));
}

TEST(JoinProtocol, UnsetEnvTakesNamesAndPrefixes) {
  EnvLayers layers;
  layers.own = {
      {"CONDA_PREFIX", "/c"}, {"CONDA_SHLVL", "1"}, {"CONDAX", "x"}, {"PYTHONPATH", "/p"}, {"SLURM_PROCID", "0"}};
  layers.image = {{"PYTHONPATH", "/img"}, {"CONDA_DEFAULT_ENV", "base"}};
  layers.site = {{"PYTHONPATH", "/site"}};
  layers.user = {{"PYTHONPATH", "/mine"}};
  layers.unset = {"CONDA_*", "PYTHONPATH", "SLURM_*"};
  std::vector<std::string> without_user = compose_environment([&] {
    auto l = layers;
    l.user.clear();
    return l;
  }());
  std::vector<std::string> expected = {"CONDAX=x", "SLURM_PROCID=0"};
  EXPECT_EQ(without_user, expected) << "the launcher's variables are never unset";
  auto env = compose_environment(layers);
  EXPECT_NE(std::find(env.begin(), env.end(), "PYTHONPATH=/mine"), env.end()) << "--env sets it again";
  EXPECT_NO_THROW(check_unset_pattern("CONDA_*"));
  EXPECT_NO_THROW(check_unset_pattern("X"));
  EXPECT_EQ(hl::testing::error_text([] { check_unset_pattern("*"); }),
            "--unset-env `*`: expected a variable name or a PREFIX*");
  EXPECT_THROW(check_unset_pattern("A=B"), Error);
  EXPECT_THROW(check_unset_pattern("A*B"), Error);
}

TEST(Rendezvous, GroupsDiffer) {
  EXPECT_EQ(launch_group("", "abcd"), "l-abcd");
  EXPECT_EQ(launch_group("77", "abcd"), "l-77.abcd");
  EXPECT_NE(launch_group("", "abcd"), launch_group("", "abce"));
  EXPECT_EQ(companion_group({{"SLURM_JOB_ID", "12"}, {"SLURM_STEP_ID", "3"}}), "x-12.3");
  EXPECT_EQ(companion_group({{"SLURM_JOB_ID", "12"}}), "x-12.batch");
  EXPECT_EQ(companion_group({{"PMIX_NAMESPACE", "prterun-vm-1/1"}}), "x-prterun-vm-11") << "no '/' in a name";
}

TEST(NodeSpec, SessionDirsFromPmixEnvironment) {
  auto dirs = session_dirs_from_environment({{"PMIX_SERVER_TMPDIR", "/var/spool/slurmd/pmix.5.0"},
                                             {"PMIX_SYSTEM_TMPDIR", "/tmp"},
                                             {"OTHER", "/x/y"},
                                             {"PMIX_SERVER_TMPDIR", "relative/path"}});
  ASSERT_EQ(dirs.size(), 1u) << "/tmp's parent is / and is skipped";
  EXPECT_EQ(dirs[0], "/var/spool/slurmd");
}

TEST(NodeSpec, SessionDirOfSlurmPmixWithTrailingSlash) {
  auto dirs = session_dirs_from_environment({{"PMIX_SERVER_TMPDIR", "/var/spool/slurmd/node1/pmix.2.0/"}});
  ASSERT_EQ(dirs.size(), 1u);
  EXPECT_EQ(dirs[0], "/var/spool/slurmd/node1");
}

TEST(NodeSpec, PmixClientDirBaseFromMpiConf) {
  EXPECT_EQ(pmix_client_dir_base("# c\nPMIxCliTmpDirBase = /var/spool/nodelocal/ \nPMIxDebug=0\n"),
            "/var/spool/nodelocal");
  EXPECT_EQ(pmix_client_dir_base("#PMIxCliTmpDirBase=/x\n"), "");
  EXPECT_EQ(pmix_client_dir_base(""), "");
}

TEST(LaunchSpec, JsonRoundTrip) {
  LaunchSpec s;
  s.container.image = "/img.sqsh";
  s.container.mounts = {image::bind_mount("/a", "/b", true, false, false, "--mount")};
  s.container.workdir = "/w";
  s.container.command.command = {"solver", "-v"};
  s.container.command.entrypoint = image::EntrypointMode::none;
  s.container.hooks = {image::HookSpec{"10-mpi.sh", "/etc/hpclaunch/hooks.d/10-mpi.sh", "site"}};
  s.join.unset_env = {"CONDA_*"};
  s.join.cleanenv = true;
  s.join.binding.gpus = devices::GpuSelection::per_rank;
  s.join.rendezvous_group = "l-x";
  s.join.user_env = {{"A", "x=y"}};
  LaunchSpec back = decode_launch_spec(encode(s));
  EXPECT_EQ(back.container.image, "/img.sqsh");
  ASSERT_EQ(back.container.mounts.size(), 1u);
  EXPECT_EQ(back.container.mounts[0].target, "/b");
  EXPECT_TRUE(back.container.mounts[0].read_only);
  EXPECT_EQ(back.container.command.command, s.container.command.command);
  EXPECT_EQ(back.container.command.entrypoint, image::EntrypointMode::none);
  ASSERT_EQ(back.container.hooks.size(), 1u);
  EXPECT_EQ(back.container.hooks[0].name, "10-mpi.sh");
  EXPECT_TRUE(back.join.cleanenv);
  EXPECT_EQ(back.join.unset_env, s.join.unset_env);
  EXPECT_EQ(back.join.binding.gpus, devices::GpuSelection::per_rank);
  EXPECT_EQ(back.join.user_env, s.join.user_env);
  EXPECT_EQ(decode_join_spec(encode(s.join)).rendezvous_group, "l-x");
}

TEST(LaunchSpec, RejectsGarbage) {
  EXPECT_THROW(decode_launch_spec("{}"), Error);
  EXPECT_THROW(decode_join_spec("not json"), Error);
}

TEST(NodeSetup, SlurmdSpoolDirFromSlurmConf) {
  EXPECT_EQ(slurmd_spool_dir("SlurmdSpoolDir=/var/lib/tc/spool/%n\n", "node1", "h"), "/var/lib/tc/spool/node1");
  EXPECT_EQ(slurmd_spool_dir("slurmdspooldir = /s/%h # c\n", "", "host7"), "/s/host7");
  EXPECT_EQ(slurmd_spool_dir("#SlurmdSpoolDir=/x\n", "n", "h"), "/var/spool/slurmd") << "Slurm's default";
}

TEST(JoinProtocol, RejectsNumbersThatAreNotIntegers) {
  // get<int>() of an out-of-range double is undefined behaviour (UBSan, fuzzer).
  EXPECT_THROW(
      decode_request(
          R"({"kind":"join","root_view":false,"binding":{"policy":"auto","gpus":"all","cpus_per_rank":0},"rank":1e300,"local_rank":0,"local_size":1,"allowed_cpus":"","cuda_visible_devices":""})"),
      Error);
}
