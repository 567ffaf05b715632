// A staged copy of the image is checked against rank 0's identity (length,
// superblock, metadata tail checksum) and unlinked once opened; serving
// threads each read through a reader of their own.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "common/error.hpp"
#include "image/image_metadata.hpp"
#include "image/squashfuse_ops.hpp"
#include "tests/unit/image/squashfs_test_image.hpp"

using namespace hl;
using namespace hl::image;
using namespace hl::image::testing;

namespace {

class StagedImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hl-staged-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    bytes_ = read_seed("mini-gzip");
    write(shared(), bytes_);
    identity_ = read_image_metadata(shared(), nullptr, true);
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  std::string shared() const { return dir_ + "/shared.sqsh"; }
  std::string staged() const { return dir_ + "/staged.sqsh"; }
  static void write(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  std::string refusal() {
    try {
      open_staged_image(identity_, staged());
    } catch (const Error& e) {
      return e.describe();
    }
    return "no error";
  }

  std::string dir_;
  std::vector<std::uint8_t> bytes_;
  ImageMetadata identity_;
};

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_F(StagedImageTest, AMatchingCopyIsOpenedAndUnlinked) {
  EXPECT_NE(identity_.tail_checksum, 0u);
  EXPECT_EQ(read_image_metadata(shared()).tail_checksum, 0u) << "only a staged launch reads the tail";
  write(staged(), bytes_);
  UniqueFd fd = open_staged_image(identity_, staged());
  EXPECT_TRUE(fd);
  EXPECT_FALSE(exists(staged())) << "the open fd is the copy's only name";
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_END), static_cast<off_t>(bytes_.size()));
}

TEST_F(StagedImageTest, ACopyThatDiffersInItsMetadataTailIsRefusedAndRemoved) {
  auto changed = bytes_;
  Superblock sb = parse_superblock(identity_.superblock, "x");
  changed[sb.inode_table_start + 3] ^= 0x40;  // same length, same superblock
  write(staged(), changed);
  EXPECT_EQ(refusal(), "the staged copy `" + staged() + "` differs from image `" + shared() +
                           "` as the first node read it; the image changed while it was copied, or the copy was cut "
                           "short; launch again, or use --stage none");
  EXPECT_FALSE(exists(staged()));
}

TEST_F(StagedImageTest, ACutCopyAndAMissingCopyAreOneLineEach) {
  write(staged(), std::vector<std::uint8_t>(bytes_.begin(), bytes_.begin() + bytes_.size() / 2));
  EXPECT_NE(refusal().find("differs from image"), std::string::npos);
  EXPECT_EQ(refusal(), "cannot open the staged copy of the image `" + staged() +
                           "`: No such file or directory; the copy did not reach this node; launch again, or use "
                           "--stage none");
}

// Without staging: a node that opens the shared image after it was replaced
// (another image renamed over it) refuses in one line, without a stat.
TEST_F(StagedImageTest, ASharedImageReplacedAfterRankZeroReadItIsRefused) {
  EXPECT_TRUE(open_matching_image(identity_));
  write(dir_ + "/new.sqsh", read_seed("mini-zstd"));
  ASSERT_EQ(::rename((dir_ + "/new.sqsh").c_str(), shared().c_str()), 0);
  try {
    open_matching_image(identity_);
    FAIL() << "a replaced image was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.describe(), "image `" + shared() +
                                "` differs on this node from the one the first node read; the image changed during "
                                "launch, or the path is not on a shared file system");
  }
}

TEST(ReaderPool, EachServingThreadGetsAReaderOfItsOwn) {
  ImageFile file(read_seed("mini-zstd"));
  ReaderPool pool(std::make_unique<SquashfsReader>(file.reader()));
  pool.reserve(5);
  SquashfsReader* mine = &pool.for_this_thread();
  EXPECT_EQ(mine, &pool.for_this_thread()) << "a thread keeps its reader";
  std::set<SquashfsReader*> seen{mine};
  std::mutex lock;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      SquashfsReader& reader = pool.for_this_thread();
      int err = 0;
      Node node = resolve(reader, "dir/b.bin", &err);
      EXPECT_NE(node, 0u) << err;
      std::lock_guard guard(lock);
      seen.insert(&reader);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), 5u);
}

// /dev/shm is shared: a copy another user owns (made there first, then
// written into by sbcast) is not served, however well it matches.
TEST_F(StagedImageTest, ACopyAnotherUserOwnsIsRefusedAndRemoved) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the copy to another user";
  write(staged(), bytes_);
  ASSERT_EQ(::chown(staged().c_str(), 65534, 65534), 0);
  EXPECT_EQ(refusal(), "the staged copy `" + staged() +
                           "` is not a file of yours (owner uid 65534); another user made "
                           "it first; launch again (a new name), or use --stage none");
  EXPECT_FALSE(exists(staged()));
}
