#include "image/serving_spec.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/strings.hpp"

namespace hl::image {

void parse_stage_option(std::string_view text, std::string_view cwd, ServingSpec& spec) {
  spec.stage_dir.clear();
  if (text == "auto") {
    spec.stage = StageMode::automatic;
  } else if (text == "memory") {
    spec.stage = StageMode::memory;
  } else if (text == "none") {
    spec.stage = StageMode::none;
  } else if (text.empty()) {
    throw Error("--stage needs a value", "use auto, memory, none, or a node-local directory such as $TMPDIR");
  } else {
    spec.stage = StageMode::directory;
    spec.stage_dir = absolute_path(text, cwd);
  }
}

std::string describe_stage(const ServingSpec& spec) {
  switch (spec.stage) {
    case StageMode::automatic:
      return "auto";
    case StageMode::memory:
      return "memory";
    case StageMode::directory:
      return spec.stage_dir;
    case StageMode::none:
      return "none";
  }
  return "auto";
}

namespace {

// An explicit mode on a node without room: one line naming the node, the
// sizes and what else to use.
void check_room(const char* what, std::uint64_t image_size, const LeastRoom& room, const std::string& other) {
  if (image_size <= room.bytes) return;
  throw Error(
      fmt::format("--stage {}: the image ({}) does not fit in {}'s {} ({} free)", what, human_bytes(image_size),
                  room.node.empty() ? "this node" : room.node,
                  std::string_view(what) == "memory" ? "free memory" : "staging directory", human_bytes(room.bytes)),
      other);
}

}  // namespace

StagePlan plan_staging(const ServingSpec& spec, std::uint64_t image_size, int nodes, const LeastRoom& memory,
                       const LeastRoom& directory) {
  switch (spec.stage) {
    case StageMode::none:
      return {StageMode::none, "", "--stage none"};
    case StageMode::memory:
      check_room("memory", image_size, memory, "use --stage DIR (a node-local disk) or --stage none");
      return {StageMode::memory, "/dev/shm", "--stage memory"};
    case StageMode::directory:
      check_room(spec.stage_dir.c_str(), image_size, directory, "free space there, or use --stage none");
      return {StageMode::directory, spec.stage_dir, "--stage " + spec.stage_dir};
    case StageMode::automatic:
      break;
  }
  if (nodes <= 1) return {StageMode::none, "", "auto: one node reads the image once anyway"};
  if (image_size < spec.auto_min_bytes) {
    return {StageMode::none, "",
            fmt::format("auto: the image ({}) is under {}", human_bytes(image_size), human_bytes(spec.auto_min_bytes))};
  }
  std::uint64_t limit = memory.bytes / 1000 * static_cast<std::uint64_t>(std::max(spec.auto_permille, 0));
  double fraction = spec.auto_permille / 1000.0;
  if (image_size > limit) {
    return {StageMode::none, "",
            fmt::format("auto: the image ({}) is over {:g} of {}'s free memory ({})", human_bytes(image_size), fraction,
                        memory.node, human_bytes(memory.bytes))};
  }
  return {StageMode::memory, "/dev/shm",
          fmt::format("auto: {} nodes, the image ({}) is under {:g} of the least free memory ({})", nodes,
                      human_bytes(image_size), fraction, human_bytes(memory.bytes))};
}

int fuse_thread_count(const ServingSpec& spec, int local_ranks, int cpus) {
  if (spec.fuse_threads > 0) return spec.fuse_threads;
  int ranks = local_ranks > 0 ? local_ranks : kMaxAutoFuseThreads;
  return std::clamp(std::min(ranks, cpus), 1, kMaxAutoFuseThreads);
}

}  // namespace hl::image
