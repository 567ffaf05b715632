#pragma once
// How the node's holders get and serve the image (`--stage`, `--fuse-threads`):
// typed options carried in the launch spec, and the pure rules that turn
// them into what a node does (unit-tested in tests/unit/image/).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hl::image {

// --stage: before the holders mount, copy the image once per job to
// node-local storage (memory: /dev/shm; directory: a node-local DIR), or
// serve the shared file itself (none). automatic decides per launch.
enum class StageMode { automatic, memory, directory, none };
NLOHMANN_JSON_SERIALIZE_ENUM(StageMode, {{StageMode::automatic, "auto"},
                                         {StageMode::memory, "memory"},
                                         {StageMode::directory, "dir"},
                                         {StageMode::none, "none"}})

struct ServingSpec {
  StageMode stage = StageMode::automatic;
  std::string stage_dir;  // --stage DIR (absolute)
  // auto stages in memory when the image is at most this fraction (in
  // thousandths: the messages carry no floating point) of the least free
  // memory of the launch's nodes (HPCLAUNCH_STAGE_FRACTION=0.125) ...
  int auto_permille = 125;
  // ... is at least this large (HPCLAUNCH_STAGE_MIN_BYTES: below it, staging
  // costs more launch time than the nodes' reads of the shared file) ...
  std::uint64_t auto_min_bytes = 64ull << 20;
  // ... and the launch has more than one node (one node reads the image once anyway).
  int ranks_per_node = 0;      // the most ranks on one node, 0 when unknown
  int fuse_threads = 0;        // --fuse-threads; 0: from the node's ranks and cores
  bool fuse_clone_fd = false;  // each serving thread its own /dev/fuse fd (HPCLAUNCH_FUSE_CLONE_FD=1)
  // Set by the front end once it staged the image: every node's copy is
  // here (the same path on each), checked against rank 0's identity.
  std::string staged_path;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ServingSpec, stage, stage_dir, auto_permille, auto_min_bytes, ranks_per_node,
                                   fuse_threads, fuse_clone_fd, staged_path)

// "auto", "memory", "none", or a directory (made absolute against `cwd`).
// Throws Error for an empty value or a relative path that is not a word above.
void parse_stage_option(std::string_view text, std::string_view cwd, ServingSpec& spec);
std::string describe_stage(const ServingSpec& spec);  // "auto", "memory", "none", "DIR"

// What a launch does with its image: where every node's copy goes (none:
// the shared file is served).
struct StagePlan {
  StageMode mode = StageMode::none;  // memory, directory or none
  std::string root;                  // /dev/shm or the --stage directory
  std::string why;                   // for -v: "auto: 9.0 MB image, under 64.0 MB"
};

// Room on the launch's nodes: the least free memory (or space in `root`)
// any node reported, and which node that was.
struct LeastRoom {
  std::uint64_t bytes = 0;
  std::string node;
};

// `--stage auto` and the others, for an image of `image_size` bytes on
// `nodes` nodes. Throws Error naming the node when an explicit mode does not
// fit there.
StagePlan plan_staging(const ServingSpec& spec, std::uint64_t image_size, int nodes, const LeastRoom& memory,
                       const LeastRoom& directory);

// Serving threads for a node: --fuse-threads when given; else one per
// local rank up to the node's cpus, at most kMaxAutoFuseThreads, at least 1.
inline constexpr int kMaxAutoFuseThreads = 4;
int fuse_thread_count(const ServingSpec& spec, int local_ranks, int cpus);

}  // namespace hl::image
