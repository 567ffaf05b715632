#pragma once
// RunOptions + LaunchContext -> the launch plan: the launch spec every node
// and rank gets, both step command lines and their extra environment.
// Pure (the caller gathers the facts), so every rule here is unit-tested.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/env.hpp"
#include "image/image_metadata.hpp"
#include "launcher/run_options.hpp"
#include "wireup/launch_spec.hpp"

namespace hl::launcher {

// How the front end stages the image (--stage) before the node step starts;
// whether it does is decided at launch, from the image's size and the room.
enum class StageCopy { none, local, sbcast };
struct StageTarget {
  StageCopy copy = StageCopy::none;  // local: one machine, the front end copies; sbcast: Slurm's tree broadcast
  int nodes = 1;                     // the launch's nodes (sbcast: all of the allocation's)
  std::string file_name;             // hpclaunch-UID-GROUP.sqsh, in /dev/shm or the --stage DIR
  std::string why_not;               // for -v when copy is none
};

struct LaunchPlan {
  Launcher launcher = Launcher::mpirun;  // mpirun or srun, never automatic
  int ntasks = 0;
  // The job's only node is this machine: no node step, the front end
  // starts the holder itself (node_step and node_env are empty).
  bool local_holder = false;
  // A named launch: the nodes its app step uses (each needs the container).
  std::vector<std::string> app_nodes;
  wireup::LaunchSpec spec;
  std::vector<std::string> node_step;
  std::vector<std::string> app_step;
  EnvList step_env;  // set for both steps
  EnvList node_env;  // set for the node step only (with the launch spec)
  EnvList app_env;   // set for the app step only (with the join spec)
  StageTarget stage;
  // The front end's one read of the image (open, fstat, superblock: the
  // job's only stat of it), made by run_plan before anything starts and
  // passed to the node steps and the holders, which compare without stat.
  std::optional<image::ImageMetadata> image_identity;
};

// The front end staged the image at `path`: the node step's spec says so.
void set_staged_path(LaunchPlan& plan, const std::string& path);

// The front end's directory in <runtime>/<launch group>/ (this name).
std::string front_end_dir_name(const std::string& host);

// The plan's node step on `nodes` only (srun -w): a named container's on
// the nodes that do not have it yet.
std::vector<std::string> node_step_on(const LaunchPlan& plan, const std::vector<std::string>& nodes);

// Throws hl::Error with a one-line message naming the bad option and the fix.
LaunchPlan make_plan(const RunOptions& options, const LaunchContext& context);

// The launch spec alone (companion mode, `hpclaunch exec`, one per task):
// the same validation as make_plan.
wireup::LaunchSpec make_launch_spec(const RunOptions& options, const LaunchContext& context);

nlohmann::json plan_to_json(const LaunchPlan& plan);
std::string plan_to_text(const LaunchPlan& plan);

// `--env KEY=VALUE` (the value may hold '='); throws naming the value.
std::pair<std::string, std::string> parse_env_option(const std::string& text);

std::string_view to_string(Launcher launcher);
// "auto", "mpirun", "srun"; throws naming the accepted values.
Launcher parse_launcher(std::string_view text);

}  // namespace hl::launcher
