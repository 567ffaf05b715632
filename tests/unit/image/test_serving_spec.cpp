// --stage and --fuse-threads: the pure rules (image/serving_spec.hpp).
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "image/serving_spec.hpp"

using namespace hl;
using namespace hl::image;

namespace {

constexpr std::uint64_t kMiB = 1ull << 20;
constexpr std::uint64_t kGiB = 1ull << 30;

ServingSpec spec_of(const std::string& stage) {
  ServingSpec s;
  parse_stage_option(stage, "/home/u/run", s);
  return s;
}

std::string refusal(const ServingSpec& s, std::uint64_t size, const LeastRoom& memory, const LeastRoom& dir = {}) {
  try {
    plan_staging(s, size, 4, memory, dir);
  } catch (const Error& e) {
    return e.describe();
  }
  return "no error";
}

}  // namespace

TEST(ServingSpec, ParsesStageWordsAndDirectories) {
  EXPECT_EQ(spec_of("auto").stage, StageMode::automatic);
  EXPECT_EQ(spec_of("memory").stage, StageMode::memory);
  EXPECT_EQ(spec_of("none").stage, StageMode::none);
  ServingSpec dir = spec_of("scratch");
  EXPECT_EQ(dir.stage, StageMode::directory);
  EXPECT_EQ(dir.stage_dir, "/home/u/run/scratch");
  EXPECT_EQ(describe_stage(dir), "/home/u/run/scratch");
  EXPECT_EQ(spec_of("/local/nvme").stage_dir, "/local/nvme");
  ServingSpec empty;
  EXPECT_THROW(parse_stage_option("", "/", empty), Error);
}

TEST(ServingSpec, AutoStagesInMemoryOnlyWhenSeveralNodesAndTheImageIsSmallEnough) {
  ServingSpec s = spec_of("auto");
  LeastRoom memory{16 * kGiB, "node3"};
  EXPECT_EQ(plan_staging(s, 200 * kMiB, 4, memory, {}).mode, StageMode::memory);
  EXPECT_EQ(plan_staging(s, 200 * kMiB, 4, memory, {}).root, "/dev/shm");
  EXPECT_EQ(plan_staging(s, 200 * kMiB, 1, memory, {}).mode, StageMode::none) << "one node";
  EXPECT_EQ(plan_staging(s, 1 * kMiB, 4, memory, {}).mode, StageMode::none) << "under the minimum";
  auto big = plan_staging(s, 3 * kGiB, 4, memory, {});  // over 1/8 of 16 GiB
  EXPECT_EQ(big.mode, StageMode::none);
  EXPECT_NE(big.why.find("node3"), std::string::npos) << big.why;
  s.auto_permille = 250;
  EXPECT_EQ(plan_staging(s, 3 * kGiB, 4, memory, {}).mode, StageMode::memory) << "HPCLAUNCH_STAGE_FRACTION=0.25";
}

TEST(ServingSpec, ExplicitModesWithoutRoomAreOneLineNamingTheNode) {
  EXPECT_EQ(refusal(spec_of("memory"), 2 * kGiB, {1 * kGiB, "node2"}),
            "--stage memory: the image (2.1 GB) does not fit in node2's free memory (1.1 GB free); use --stage DIR "
            "(a node-local disk) or --stage none");
  EXPECT_EQ(refusal(spec_of("/scratch"), 2 * kGiB, {16 * kGiB, "node1"}, {kMiB, "node1"}),
            "--stage /scratch: the image (2.1 GB) does not fit in node1's staging directory (1.0 MB free); free "
            "space there, or use --stage none");
  EXPECT_EQ(plan_staging(spec_of("memory"), kMiB, 1, {kGiB, "vm"}, {}).mode, StageMode::memory)
      << "explicit memory stages even one node and a small image";
  EXPECT_EQ(plan_staging(spec_of("none"), kMiB, 4, {kGiB, "vm"}, {}).mode, StageMode::none);
}

TEST(ServingSpec, FuseThreadsFromRanksAndCpus) {
  ServingSpec s;
  EXPECT_EQ(fuse_thread_count(s, 32, 2), 2) << "at most the cpus";
  EXPECT_EQ(fuse_thread_count(s, 1, 16), 1) << "one rank, one thread";
  EXPECT_EQ(fuse_thread_count(s, 32, 64), kMaxAutoFuseThreads);
  EXPECT_EQ(fuse_thread_count(s, 0, 2), 2) << "unknown ranks: the cpus";
  s.fuse_threads = 1;
  EXPECT_EQ(fuse_thread_count(s, 32, 64), 1) << "--fuse-threads 1 keeps single-threaded serving";
  s.fuse_threads = 8;
  EXPECT_EQ(fuse_thread_count(s, 1, 2), 8);
}
