// --stage and --fuse-threads in the launch plan (launcher/plan_serving.hpp).
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "launcher/plan.hpp"
#include "launcher/plan_serving.hpp"

using namespace hl;
using namespace hl::launcher;

namespace {

LaunchContext context(EnvList env = {}) {
  env.emplace_back("HOME", "/home/u");
  LaunchContext c;
  c.env = env;
  c.cwd = "/home/u/run";
  c.uid = 1000;
  c.self = "/opt/hl/hpclaunch";
  c.nonce = "0123456789abcdef";
  c.host = "node1";
  c.runtime_dir = "/tmp/hpclaunch-1000";
  c.local_cpus = 2;
  return c;
}

EnvList slurm(int nodes) {
  return {{"SLURM_JOB_ID", "42"},
          {"SLURM_JOB_NUM_NODES", std::to_string(nodes)},
          {"SLURM_JOB_NODELIST", "node[1-4]"},
          {"SLURMD_NODENAME", "node1"},
          {"SLURM_NTASKS", "16"}};
}

RunOptions options(const std::string& stage, int n = 16) {
  RunOptions o;
  o.ntasks = n;
  o.image = "app.sqsh";
  o.command = {"solver"};
  o.stage = stage;
  return o;
}

std::string error_of(const RunOptions& o, const LaunchContext& c) {
  try {
    make_plan(o, c);
  } catch (const Error& e) {
    return e.describe();
  }
  return "no error";
}

}  // namespace

TEST(PlanServing, OneMachineIsTheFrontEndsCopy) {
  LaunchPlan p = make_plan(options("memory", 4), context());
  EXPECT_EQ(p.stage.copy, StageCopy::local);
  EXPECT_EQ(p.stage.file_name, "hpclaunch-1000-l-0123456789abcdef.sqsh");
  EXPECT_EQ(p.spec.serving.stage, image::StageMode::memory);
  EXPECT_NE(plan_to_text(p).find("stage: memory (decided at launch; this machine: the front end copies)"),
            std::string::npos)
      << plan_to_text(p);
}

TEST(PlanServing, SlurmSbcastsToTheWholeAllocation) {
  auto o = options("auto");
  o.nodes = 4;
  LaunchPlan p = make_plan(o, context(slurm(4)));
  EXPECT_EQ(p.stage.copy, StageCopy::sbcast);
  EXPECT_EQ(p.stage.nodes, 4);
  EXPECT_EQ(p.stage.file_name, "hpclaunch-1000-l-42.0123456789abcdef.sqsh");
  set_staged_path(p, "/dev/shm/" + p.stage.file_name);
  auto spec = wireup::decode_launch_spec(env_value(p.node_env, wireup::kLaunchSpecVariable));
  EXPECT_EQ(spec.serving.staged_path, "/dev/shm/hpclaunch-1000-l-42.0123456789abcdef.sqsh");
}

TEST(PlanServing, WhereNoCopyCanBeMadeAnExplicitModeIsOneLineAndAutoIsNone) {
  auto o = options("memory");
  o.nodes = 2;
  EXPECT_EQ(error_of(o, context(slurm(4))),
            "--stage memory: sbcast copies to all of the allocation's nodes (4), the launch uses 2; use --stage none "
            "(or auto)");
  o.stage = "auto";
  LaunchPlan p = make_plan(o, context(slurm(4)));
  EXPECT_EQ(p.stage.copy, StageCopy::none);
  auto h = options("/scratch", 4);
  h.hostfile = "hosts";
  EXPECT_EQ(error_of(h, context()),
            "--stage /scratch: outside Slurm only one machine can be staged (no sbcast for mpirun --hostfile); use "
            "--stage none (or auto)");
  auto named = options("memory", 4);
  named.name = "dev";
  EXPECT_NE(error_of(named, context()).find("a named container is not staged"), std::string::npos);
  EXPECT_EQ(make_plan(options("none", 4), context()).stage.copy, StageCopy::none);
}

TEST(PlanServing, FuseThreadsAndFractionsFromOptionsAndEnvironment) {
  auto o = options("auto", 4);
  o.fuse_threads = 3;
  EXPECT_EQ(make_plan(o, context()).spec.serving.fuse_threads, 3);
  EXPECT_EQ(make_plan(o, context({{"HPCLAUNCH_STAGE_FRACTION", "0.25"}})).spec.serving.auto_permille, 250);
  EXPECT_EQ(error_of(o, context({{"HPCLAUNCH_STAGE_FRACTION", "2"}})),
            "HPCLAUNCH_STAGE_FRACTION=`2` is not a fraction of the free memory; give a number above 0 and at most 1, "
            "e.g. 0.125");
  EXPECT_TRUE(make_plan(o, context({{"HPCLAUNCH_FUSE_CLONE_FD", "1"}})).spec.serving.fuse_clone_fd);
}
