#pragma once
// CLI options + facts about the environment -> the launch plan: both step
// command lines, their extra environment, the node spec and the mounts.
// Pure (the caller gathers the facts), so every rule here is unit-tested.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "image/etc_files.hpp"
#include "image/mount_plan.hpp"
#include "wireup/join.hpp"
#include "wireup/join_protocol.hpp"
#include "wireup/node_spec.hpp"

namespace hl::launcher {

struct RunOptions {
  std::optional<int> ntasks;  // nullopt: not given
  std::string image;
  std::vector<std::string> mounts;
  std::vector<std::string> env;
  std::string workdir;
  std::string launcher = "auto";
  std::string hostfile;
  // srun options passed through to the app step (and -N to the node step).
  std::optional<int> nodes;
  std::optional<int> ntasks_per_node;
  std::optional<int> cpus_per_task;
  std::string distribution;
  std::string cpu_bind;
  // Binding and devices, planned per node by the holder (devices/).
  std::string bind = "auto";
  std::string gpus = "all";
  bool report_bindings = false;
  int join_timeout_s = 120;
  bool dry_run = false;
  bool verbose = false;
  bool json = false;
  std::vector<std::string> command;
};

struct LaunchContext {
  image::EnvList env;  // the front end's environment
  std::string cwd;
  uid_t uid = 0;
  std::string self;   // absolute path of the hpclaunch binary
  std::string nonce;  // random, makes the rendezvous name unique
  int local_cpus = 1;
  // Slurm's TaskPlugin can bind (task/affinity, task/cgroup): only then is
  // --cpu-bind=none needed, and with task/none srun complains about it.
  bool slurm_binds_tasks = true;
};

struct LaunchPlan {
  std::string launcher;  // "mpirun" or "srun"
  int ntasks = 0;
  std::vector<std::string> node_step;
  std::vector<std::string> app_step;
  image::EnvList step_env;                // set for both steps
  image::EnvList node_env;                // set for the node step only
  image::EnvList app_env;                 // set for the app step only
  std::vector<std::string> session_dirs;  // ours to remove when the job is done (mpirun)
  wireup::NodeSpec node_spec;
  std::vector<image::MountSpec> mounts;  // as planned here; nodes add session dirs
};

// Throws hl::Error with a one-line message naming the bad option and the fix.
LaunchPlan make_plan(const RunOptions& options, const LaunchContext& context);

// Companion mode (`hpclaunch exec`, one per task): what the node's holder
// needs and how this task joins. Same validation as make_plan.
wireup::NodeSpec make_node_spec(const RunOptions& options, const LaunchContext& context);
wireup::JoinOptions make_join_options(const RunOptions& options, const LaunchContext& context);

nlohmann::json plan_to_json(const LaunchPlan& plan);
std::string plan_to_text(const LaunchPlan& plan);

// KEY=VALUE, KEY non-empty; throws naming the --env value.
using wireup::parse_env_option;

}  // namespace hl::launcher
