#include "launcher/plan_serving.hpp"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/strings.hpp"

namespace hl::launcher {
namespace {

// HPCLAUNCH_STAGE_FRACTION=0.125: a fraction in (0, 1], in thousandths.
int stage_fraction_permille(const std::string& text) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || !(value > 0.0) || value > 1.0) {
    throw Error(fmt::format("HPCLAUNCH_STAGE_FRACTION=`{}` is not a fraction of the free memory", text),
                "give a number above 0 and at most 1, e.g. 0.125");
  }
  return std::max(1, static_cast<int>(std::lround(value * 1000)));
}

}  // namespace

image::ServingSpec plan_serving(const RunOptions& o, const LaunchContext& c) {
  image::ServingSpec spec;
  image::parse_stage_option(o.stage, c.cwd, spec);
  if (auto fraction = env_value(c.env, "HPCLAUNCH_STAGE_FRACTION"); !fraction.empty()) {
    spec.auto_permille = stage_fraction_permille(fraction);
  }
  if (auto bytes = env_value(c.env, "HPCLAUNCH_STAGE_MIN_BYTES"); !bytes.empty()) {
    spec.auto_min_bytes = static_cast<std::uint64_t>(parse_integer(bytes, "HPCLAUNCH_STAGE_MIN_BYTES", 0, 1ll << 50));
  }
  if (o.fuse_threads < 0) throw Error(fmt::format("--fuse-threads must be 0 or more (got {})", o.fuse_threads));
  spec.fuse_threads = o.fuse_threads;
  spec.fuse_clone_fd = env_value(c.env, "HPCLAUNCH_FUSE_CLONE_FD") == "1";
  return spec;
}

int ranks_per_node(const RunOptions& o, int ntasks, int nodes) {
  if (o.ntasks_per_node && *o.ntasks_per_node > 0) return *o.ntasks_per_node;
  if (nodes <= 0) return 0;
  return (ntasks + nodes - 1) / nodes;
}

namespace {

StageTarget no_stage(const image::ServingSpec& spec, std::string why) {
  if (spec.stage == image::StageMode::memory || spec.stage == image::StageMode::directory) {
    throw Error(fmt::format("--stage {}: {}", image::describe_stage(spec), why), "use --stage none (or auto)");
  }
  StageTarget none;
  none.why_not = std::move(why);
  return none;
}

}  // namespace

StageTarget plan_stage_target(const RunOptions& o, const LaunchContext& c, Launcher launcher, bool local_holder,
                              int nodes, const std::string& group) {
  image::ServingSpec spec;
  image::parse_stage_option(o.stage, c.cwd, spec);
  if (spec.stage == image::StageMode::none) return no_stage(spec, "--stage none");
  if (!o.name.empty()) return no_stage(spec, "a named container is not staged (its holders read the image)");
  StageTarget t;
  t.file_name = fmt::format("hpclaunch-{}-{}.sqsh", c.uid, group);
  if (local_holder) {
    t.copy = StageCopy::local;
    return t;
  }
  if (launcher != Launcher::srun) {
    return no_stage(spec, "outside Slurm only one machine can be staged (no sbcast for mpirun --hostfile)");
  }
  auto all = env_value(c.env, "SLURM_JOB_NUM_NODES");
  if (all.empty() || std::to_string(nodes) != all) {
    return no_stage(spec, fmt::format("sbcast copies to all of the allocation's nodes ({}), the launch uses {}",
                                      all.empty() ? "?" : all, nodes));
  }
  t.copy = StageCopy::sbcast;
  t.nodes = nodes;
  return t;
}

std::string describe_stage_target(const StageTarget& t) {
  switch (t.copy) {
    case StageCopy::local:
      return "decided at launch; this machine: the front end copies";
    case StageCopy::sbcast:
      return fmt::format("decided at launch; {} nodes: sbcast", t.nodes);
    case StageCopy::none:
      break;
  }
  return "not staged: " + t.why_not;
}

}  // namespace hl::launcher
