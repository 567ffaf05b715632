#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.hpp"
#include "launcher/plan.hpp"

using namespace hl;
using namespace hl::launcher;

namespace {

LaunchContext context(EnvList env = {}, uid_t uid = 1000) {
  env.emplace_back("HOME", "/home/u");
  LaunchContext c;
  c.env = env;
  c.cwd = "/home/u/run";
  c.uid = uid;
  c.self = "/opt/hl/hpclaunch";
  c.nonce = "0123456789abcdef";
  c.host = "vm";
  c.runtime_dir = "/tmp/hpclaunch-1000";
  c.local_cpus = 2;
  return c;
}

RunOptions options(int n = 4) {
  RunOptions o;
  o.ntasks = n;
  o.image = "app.sqsh";
  o.command = {"solver", "--steps", "10"};
  return o;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string error_of(const RunOptions& o, const LaunchContext& c) {
  try {
    make_plan(o, c);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

RunOptions with_hostfile(RunOptions o = options()) {
  o.hostfile = "hosts";
  return o;
}

TEST(Plan, OneMachineNeedsNoNodeStep) {
  LaunchPlan p = make_plan(options(), context());
  EXPECT_TRUE(p.local_holder) << "outside Slurm without a hostfile the only node is this one";
  EXPECT_TRUE(p.node_step.empty());
  EXPECT_FALSE(env_has(p.node_env, wireup::kLaunchSpecVariable));
  EXPECT_TRUE(contains(p.app_step, "/opt/hl/hpclaunch-join"));
  auto yield = std::find(p.step_env.begin(), p.step_env.end(),
                         std::pair<std::string, std::string>{"OMPI_MCA_mpi_yield_when_idle", "1"});
  EXPECT_NE(yield, p.step_env.end()) << "4 ranks on 2 cpus are oversubscribed";
  EXPECT_FALSE(make_plan(options(), context({{"HPCLAUNCH_NODE_STEP", "always"}})).local_holder);
  auto batch = context({{"SLURM_JOB_ID", "7"}, {"SLURM_JOB_NUM_NODES", "1"}, {"SLURMD_NODENAME", "vm"}});
  EXPECT_TRUE(make_plan(options(), batch).local_holder) << "a one-node allocation whose node runs the batch script";
  auto login = context({{"SLURM_JOB_ID", "7"}, {"SLURM_JOB_NUM_NODES", "1"}});
  EXPECT_FALSE(make_plan(options(), login).local_holder) << "salloc on a login node: the node is another";
  auto two = context({{"SLURM_JOB_ID", "7"}, {"SLURM_JOB_NUM_NODES", "2"}, {"SLURMD_NODENAME", "vm"}});
  EXPECT_FALSE(make_plan(options(), two).local_holder);
}

TEST(Plan, MpirunOutsideSlurm) {
  LaunchPlan p = make_plan(with_hostfile(), context());
  EXPECT_EQ(p.launcher, Launcher::mpirun);
  EXPECT_EQ(p.ntasks, 4);
  EXPECT_EQ(p.spec.container.image, "/home/u/run/app.sqsh");
  EXPECT_EQ(p.node_step.front(), "mpirun");
  EXPECT_TRUE(contains(p.node_step, "ppr:1:node"));
  EXPECT_TRUE(contains(p.node_step, "/opt/hl/hpclaunch-node"));
  EXPECT_TRUE(contains(p.app_step, "/opt/hl/hpclaunch-join"));
  EXPECT_TRUE(contains(p.app_step, "--oversubscribe"));
  EXPECT_FALSE(contains(p.app_step, "--allow-run-as-root"));
  // The program and its arguments come last, untouched.
  EXPECT_EQ(std::vector<std::string>(p.app_step.end() - 4, p.app_step.end()),
            (std::vector<std::string>{"--", "solver", "--steps", "10"}));
}

TEST(Plan, RootGetsOpenMpiRunAsRootSwitches) {
  LaunchPlan p = make_plan(with_hostfile(), context({}, 0));
  EXPECT_TRUE(contains(p.app_step, "--allow-run-as-root"));
  EXPECT_TRUE(contains(p.node_step, "--allow-run-as-root"));
  EXPECT_NE(std::find(p.step_env.begin(), p.step_env.end(),
                      std::pair<std::string, std::string>{"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"}),
            p.step_env.end());
}

TEST(Plan, SrunInsideAllocation) {
  auto c = context({{"SLURM_JOB_ID", "77"}, {"SLURM_JOB_NUM_NODES", "4"}, {"SLURM_NTASKS", "64"}});
  RunOptions o = options();
  o.ntasks.reset();
  LaunchPlan p = make_plan(o, c);
  EXPECT_EQ(p.launcher, Launcher::srun);
  EXPECT_EQ(p.ntasks, 64) << "-n defaults to the allocation's task count";
  auto n_of = [](const std::vector<std::string>& cmd) { return *(std::find(cmd.begin(), cmd.end(), "-n") + 1); };
  EXPECT_EQ(n_of(p.node_step), "4") << "explicit -n, or srun inherits the batch task count";
  EXPECT_TRUE(contains(p.node_step, "--overlap"));
  EXPECT_TRUE(contains(p.node_step, "--kill-on-bad-exit=1")) << "a crashed node-step rank must stop the launch";
  EXPECT_TRUE(contains(p.node_step, "--cpu-bind=none"));
  c.slurm_binds_tasks = false;
  EXPECT_FALSE(contains(make_plan(o, c).app_step, "--cpu-bind=none")) << "task/none: srun would complain";
  EXPECT_EQ(n_of(p.app_step), "64");
  EXPECT_TRUE(contains(p.app_step, "--kill-on-bad-exit=1"));
  EXPECT_EQ(p.spec.join.rendezvous_group, "l-77.0123456789abcdef");
}

TEST(Plan, SrunPassesUserOptionsAndNeverUsesMoreNodesThanRanks) {
  auto c = context({{"SLURM_JOB_ID", "77"}, {"SLURM_JOB_NUM_NODES", "4"}});
  RunOptions o = options(2);
  LaunchPlan p = make_plan(o, c);
  auto value_after = [](const std::vector<std::string>& cmd, const std::string& flag) {
    return *(std::find(cmd.begin(), cmd.end(), flag) + 1);
  };
  EXPECT_EQ(value_after(p.node_step, "-N"), "2") << "2 ranks use at most 2 of the 4 nodes";
  o = options(64);
  o.nodes = 3;
  o.ntasks_per_node = 16;
  o.cpus_per_task = 2;
  o.distribution = "cyclic";
  o.cpu_bind = "cores";
  p = make_plan(o, c);
  EXPECT_EQ(value_after(p.node_step, "-N"), "3");
  EXPECT_EQ(value_after(p.app_step, "-N"), "3");
  EXPECT_TRUE(contains(p.node_step, "--relative=0")) << "3 of 4 nodes: both steps must use the same ones";
  EXPECT_TRUE(contains(p.app_step, "--relative=0"));
  for (const char* flag : {"--ntasks-per-node=16", "--cpus-per-task=2", "--distribution=cyclic", "--cpu-bind=cores"}) {
    EXPECT_TRUE(contains(p.app_step, flag)) << flag;
  }
  EXPECT_FALSE(contains(p.app_step, "--cpu-bind=none"));
}

TEST(Plan, NodeStepWrapperForTests) {
  LaunchPlan p = make_plan(with_hostfile(), context({{"HPCLAUNCH_NODE_STEP_WRAPPER", "strace -ff -o /tmp/t/trace"}}));
  auto it = std::find(p.node_step.begin(), p.node_step.end(), "strace");
  ASSERT_NE(it, p.node_step.end());
  EXPECT_EQ(*(it + 4), "/opt/hl/hpclaunch-node");
}

TEST(Plan, FenceTimeoutFromTheEnvironment) {
  EXPECT_EQ(make_plan(with_hostfile(), context()).spec.fence_timeout_s, 0);  // automatic
  LaunchPlan p = make_plan(with_hostfile(), context({{"HPCLAUNCH_FENCE_TIMEOUT", "45"}}));
  EXPECT_EQ(p.spec.fence_timeout_s, 45);
  EXPECT_EQ(wireup::decode_launch_spec(wireup::encode(p.spec)).fence_timeout_s, 45);
  EXPECT_NE(error_of(with_hostfile(), context({{"HPCLAUNCH_FENCE_TIMEOUT", "soon"}})).find("HPCLAUNCH_FENCE_TIMEOUT"),
            std::string::npos);
  EXPECT_NE(error_of(with_hostfile(), context({{"HPCLAUNCH_FENCE_TIMEOUT", "0"}})).find("HPCLAUNCH_FENCE_TIMEOUT"),
            std::string::npos);
}

TEST(Plan, MpirunInsideAllocationOverlaps) {
  RunOptions o = options();
  o.launcher = Launcher::mpirun;
  LaunchPlan p = make_plan(o, context({{"SLURM_JOB_ID", "77"}}));
  EXPECT_NE(std::find(p.step_env.begin(), p.step_env.end(),
                      std::pair<std::string, std::string>{"OMPI_MCA_plm_slurm_args", "--overlap"}),
            p.step_env.end());
}

TEST(Plan, BadInputGivesOneClearLine) {
  RunOptions o = options(0);
  EXPECT_EQ(error_of(o, context()), "-n must be at least 1 (got 0)");
  o = options();
  o.ntasks.reset();
  EXPECT_EQ(error_of(o, context()), "-n is required outside a Slurm allocation");
  o = options();
  o.image = "docker://ubuntu:22.04";
  EXPECT_EQ(error_of(o, context()), "--image `docker://ubuntu:22.04` is a registry image, not a file");
  o = options();
  o.entrypoint = "/bin/bash";
  o.no_entrypoint = true;
  EXPECT_EQ(error_of(o, context()), "--entrypoint and --no-entrypoint together");
  o = options();
  o.unset_env = {"A=B"};
  EXPECT_EQ(error_of(o, context()), "--unset-env `A=B`: expected a variable name or a PREFIX*");
  o = options();
  o.env = {"NOEQUALS"};
  EXPECT_EQ(error_of(o, context()), "--env `NOEQUALS`: expected KEY=VALUE");
  o = options();
  o.launcher = Launcher::srun;
  EXPECT_EQ(error_of(o, context()), "--launcher srun needs a Slurm allocation");
  o = options();
  o.mounts = {"/x"};
  EXPECT_EQ(error_of(o, context()), "--mount `/x`: expected SRC:DST");
}

TEST(Plan, WithoutAProgramTheImagesEntrypointRuns) {
  RunOptions o = options();
  o.command.clear();
  auto p = make_plan(o, context());
  EXPECT_TRUE(p.spec.container.command.command.empty());
  EXPECT_EQ(p.app_step.back(), "--") << "hpclaunch-join -- with nothing after it";
  EXPECT_NE(plan_to_text(p).find("command: the image's Entrypoint and Cmd"), std::string::npos);
  o.entrypoint = "/bin/bash";
  o.entrypoint_wrap = true;
  p = make_plan(o, context());
  EXPECT_EQ(p.spec.join.command.entrypoint, image::EntrypointMode::replace);
  EXPECT_EQ(p.spec.join.command.entrypoint_program, "/bin/bash");
  EXPECT_TRUE(p.spec.join.command.wrap);
  EXPECT_TRUE(p.spec.join.command.command.empty()) << "each rank's hpclaunch-join has its argv";
}

TEST(Plan, WorkdirGivenOnlyWithWorkdir) {
  RunOptions o = options();
  EXPECT_FALSE(make_plan(o, context()).spec.join.workdir_given);
  o.workdir = "/data";
  auto p = make_plan(o, context());
  EXPECT_TRUE(p.spec.join.workdir_given);
  EXPECT_TRUE(p.spec.container.workdir_given);
  EXPECT_EQ(p.spec.join.workdir, "/data");
}

TEST(Plan, NoHomeAndContain) {
  RunOptions o = options();
  o.no_home = true;
  o.contain = true;
  auto mounts = make_plan(o, context()).spec.container.mounts;
  auto at = [&](const std::string& target) {
    return std::find_if(mounts.begin(), mounts.end(), [&](const image::MountSpec& m) { return m.target == target; });
  };
  EXPECT_EQ(at("/home/u"), mounts.end()) << "--no-home";
  ASSERT_NE(at("/tmp"), mounts.end());
  EXPECT_EQ(at("/tmp")->kind, image::MountKind::tmpfs);
  ASSERT_NE(at("/var/tmp"), mounts.end());
  EXPECT_EQ(at("/var/tmp")->origin, "--contain");
}

TEST(Plan, SiteConfigurationReachesTheSpec) {
  RunOptions o = options();
  o.site.env = {{"OMP_NUM_THREADS", "1"}};
  o.site.fixed_env = {{"FABRIC", "/etc/hpclaunch/environ.d/net.env:2"}};
  o.site.mounts = {image::bind_mount("/lustre", "/lustre", false, true, true, "/etc/hpclaunch/mounts.d/fs.fstab:1")};
  o.site.fixed_mounts = {{"/lustre", "/etc/hpclaunch/mounts.d/fs.fstab:1"}};
  o.site.hooks = {image::HookSpec{"10-mpi.sh", "/etc/hpclaunch/hooks.d/10-mpi.sh", "/etc/hpclaunch/hooks.d/10-mpi.sh"}};
  auto p = make_plan(o, context());
  EXPECT_EQ(p.spec.join.site_env, o.site.env);
  ASSERT_EQ(p.spec.container.hooks.size(), 1u);
  EXPECT_TRUE(std::any_of(p.spec.container.mounts.begin(), p.spec.container.mounts.end(),
                          [](const image::MountSpec& m) { return m.target == "/lustre"; }));
  o.env = {"FABRIC=tcp"};
  EXPECT_EQ(error_of(o, context()),
            "--env `FABRIC=tcp`: `FABRIC` is fixed by the site configuration (/etc/hpclaunch/environ.d/net.env:2)");
  o.env.clear();
  o.mounts = {"/home/u/lustre:/lustre"};
  EXPECT_EQ(error_of(o, context()),
            "--mount `/home/u/lustre:/lustre`: the mount at `/lustre` is fixed by the site configuration "
            "(/etc/hpclaunch/mounts.d/fs.fstab:1)");
}

TEST(Plan, NoncesMakeDistinctRendezvous) {
  auto c1 = context();
  auto c2 = context();
  c2.nonce = "fedcba9876543210";
  EXPECT_NE(make_plan(options(), c1).spec.join.rendezvous_group, make_plan(options(), c2).spec.join.rendezvous_group);
}

TEST(Plan, WorkdirAndEnvReachTheJoiner) {
  RunOptions o = options();
  o.workdir = "sub";
  o.env = {"A=1", "B=x=y"};
  LaunchPlan p = make_plan(o, context());
  // The join spec travels in the app step's environment, not on its command line.
  auto join = wireup::decode_join_spec(env_value(p.app_env, wireup::kJoinSpecVariable));
  EXPECT_EQ(join.workdir, "/home/u/run/sub");
  EXPECT_EQ(join.user_env, (EnvList{{"A", "1"}, {"B", "x=y"}}));
  EXPECT_FALSE(contains(p.app_step, "B=x=y")) << "no --env value on a world-readable command line";
  EXPECT_EQ(parse_env_option("B=x=y"), (std::pair<std::string, std::string>{"B", "x=y"}));
}

TEST(Plan, TextAndJsonShowStepsAndMounts) {
  LaunchPlan p = make_plan(with_hostfile(), context());
  std::string text = plan_to_text(p);
  EXPECT_NE(text.find("node step: mpirun"), std::string::npos);
  EXPECT_NE(text.find("app step:  mpirun"), std::string::npos);
  EXPECT_NE(text.find("/home/u -> /home/u"), std::string::npos);
  auto j = plan_to_json(p);
  EXPECT_EQ(j["launcher"], "mpirun");
  EXPECT_EQ(j["ntasks"], 4);
  EXPECT_TRUE(j["mounts"].is_array());
}

TEST(Plan, NamedContainerInAJob) {
  auto c = context({{"SLURM_JOB_ID", "77"},
                    {"SLURM_JOB_NUM_NODES", "4"},
                    {"SLURM_JOB_NODELIST", "node[1-4]"},
                    {"SLURMD_NODENAME", "vm"}});
  RunOptions o = options(8);
  o.name = "dev";
  o.nodes = 2;
  LaunchPlan p = make_plan(o, c);
  EXPECT_EQ(p.spec.join.rendezvous_group, "n-77.dev");
  EXPECT_EQ(p.app_nodes, (std::vector<std::string>{"node1", "node2"})) << "the first 2 nodes (--relative=0)";
  EXPECT_FALSE(p.local_holder);
  auto step = node_step_on(p, {"node2"});
  auto value_after = [&](const std::string& flag) { return *(std::find(step.begin(), step.end(), flag) + 1); };
  EXPECT_EQ(value_after("-w"), "node2");
  EXPECT_EQ(value_after("-N"), "1");
  EXPECT_EQ(value_after("-n"), "1");
  EXPECT_FALSE(contains(step, "--relative=0")) << "-w names the node";
  o.image.clear();
  EXPECT_NO_THROW(make_plan(o, c)) << "a launch into an existing named container needs no --image";
  o.name = "../x";
  EXPECT_EQ(error_of(o, c), "--name `../x`: not a container name");
}

TEST(Plan, NamedContainerOnOneMachine) {
  RunOptions o = options(2);
  o.name = "dev";
  LaunchPlan p = make_plan(o, context());
  EXPECT_EQ(p.spec.join.rendezvous_group, "n-local.dev");
  EXPECT_EQ(p.app_nodes, (std::vector<std::string>{"vm"}));
  o.hostfile = "hosts";
  EXPECT_EQ(error_of(o, context()), "--name with --hostfile: named containers live in a Slurm job or on one machine");
}
