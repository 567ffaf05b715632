// SquashfsReader on valid images: what the holder serves over FUSE.
#include <gtest/gtest.h>

#include <sys/sysmacros.h>

#include <cerrno>

#include "tests/unit/error_text.hpp"
#include "tests/unit/image/squashfs_test_image.hpp"

using namespace hl::image;
using namespace hl::image::testing;

namespace {

std::string b_bin() {
  std::string out;
  for (int i = 0; i < 5000; ++i) out.push_back(static_cast<char>((i * 7) % 251));
  return out;
}

// The same tree through every compressor and both tools (make-squashfs-seeds).
class EveryImage : public ::testing::TestWithParam<std::string> {
 protected:
  ImageFile file_{read_seed(GetParam())};
  SquashfsReader reader_ = file_.reader();
};

INSTANTIATE_TEST_SUITE_P(Seeds, EveryImage,
                         ::testing::Values("mini-raw", "mini-gzip", "mini-lzo", "mini-xz", "mini-lz4", "mini-zstd",
                                           "mini-tar2sqfs"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace

TEST_P(EveryImage, ListsDirectoriesInOrder) {
  EXPECT_EQ(list(reader_, SquashfsReader::kRootNode),
            (std::vector<std::string>{"a.txt", "abs", "dir", "hard", "sparse"}));
  EXPECT_EQ(list(reader_, resolve(reader_, "dir")), (std::vector<std::string>{"b.bin", "c", "fifo", "null", "sub"}));
  EXPECT_TRUE(list(reader_, resolve(reader_, "dir/sub")).empty());
}

TEST_P(EveryImage, ReportsEachKindOfInode) {
  struct stat st {};
  ASSERT_EQ(reader_.getattr(SquashfsReader::kRootNode, st), 0);
  EXPECT_EQ(st.st_mode, S_IFDIR | 0755);
  EXPECT_EQ(st.st_ino, SquashfsReader::kRootNode);
  Node a = resolve(reader_, "a.txt");
  ASSERT_EQ(reader_.getattr(a, st), 0);
  EXPECT_EQ(st.st_mode, S_IFREG | 0644);
  EXPECT_EQ(st.st_size, 6);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(st.st_mtime, 1700000000);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(resolve(reader_, "hard"), a);  // a hardlink is the same inode
  ASSERT_EQ(reader_.getattr(resolve(reader_, "dir/null"), st), 0);
  EXPECT_EQ(st.st_mode, S_IFCHR | 0644);
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  ASSERT_EQ(reader_.getattr(resolve(reader_, "dir/fifo"), st), 0);
  EXPECT_EQ(st.st_mode, S_IFIFO | 0644);
  ASSERT_EQ(reader_.getattr(resolve(reader_, "abs"), st), 0);
  EXPECT_EQ(st.st_mode, S_IFLNK | 0777);
  EXPECT_EQ(st.st_size, 11);
}

TEST_P(EveryImage, ReadsSymlinks) {
  std::string target;
  ASSERT_EQ(reader_.readlink(resolve(reader_, "abs"), target), 0);
  EXPECT_EQ(target, "/abs/target");
  ASSERT_EQ(reader_.readlink(resolve(reader_, "dir/c"), target), 0);
  EXPECT_EQ(target, "../a.txt");
  EXPECT_EQ(reader_.readlink(resolve(reader_, "a.txt"), target), EINVAL);
}

TEST_P(EveryImage, ReadsFilesAcrossBlockAndFragment) {
  EXPECT_EQ(read_all(reader_, resolve(reader_, "a.txt")), "hello\n");
  // 4096-byte blocks: one data block, the last 904 bytes in the fragment.
  EXPECT_EQ(read_all(reader_, resolve(reader_, "dir/b.bin"), 1000), b_bin());
  EXPECT_EQ(read_all(reader_, resolve(reader_, "sparse"), 4096), std::string(9000, '\0') + "end");
  std::vector<char> buffer(100);
  std::size_t got = 0;
  ASSERT_EQ(reader_.read(resolve(reader_, "dir/b.bin"), 4050, buffer, got), 0);
  EXPECT_EQ(std::string(buffer.data(), got), b_bin().substr(4050, 100));
  ASSERT_EQ(reader_.read(resolve(reader_, "dir/b.bin"), 4990, buffer, got), 0);
  EXPECT_EQ(got, 10u);
  ASSERT_EQ(reader_.read(resolve(reader_, "dir/b.bin"), 5000, buffer, got), 0);
  EXPECT_EQ(got, 0u);
  ASSERT_EQ(reader_.read(resolve(reader_, "dir/b.bin"), ~std::uint64_t{0} >> 1, buffer, got), 0);
  EXPECT_EQ(got, 0u);
  EXPECT_EQ(reader_.read(resolve(reader_, "dir"), 0, buffer, got), EISDIR);
  EXPECT_EQ(reader_.read(resolve(reader_, "dir/null"), 0, buffer, got), EINVAL);
}

TEST_P(EveryImage, ReadsXattrsWithTheKernelsPrefixes) {
  std::string names;
  Node a = resolve(reader_, "a.txt");
  ASSERT_EQ(reader_.listxattr(a, names), 0);
  // libsquashfuse 0.1.105 called prefix 1 "security." and 2 "trusted.".
  std::vector<std::string> listed;
  for (std::size_t at = 0; at < names.size(); at += listed.back().size() + 1) listed.emplace_back(names.c_str() + at);
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, (std::vector<std::string>{"trusted.t", "user.color"}));
  std::string value;
  ASSERT_EQ(reader_.getxattr(a, "user.color", value), 0);
  EXPECT_EQ(value, "blue");
  ASSERT_EQ(reader_.getxattr(a, "trusted.t", value), 0);
  EXPECT_EQ(value, "tv");
  ASSERT_EQ(reader_.getxattr(resolve(reader_, "dir/b.bin"), "security.s", value), 0);
  EXPECT_EQ(value, "sv");
  ASSERT_EQ(reader_.getxattr(resolve(reader_, "dir"), "user.big", value), 0);
  EXPECT_EQ(value, std::string(300, 'v'));
  // libsquashfuse 0.1.105 read "color" (5 bytes) into a buffer for "x" here:
  // a heap overflow on this valid image.
  EXPECT_EQ(reader_.getxattr(a, "user.x", value), ENODATA);
  EXPECT_EQ(reader_.getxattr(a, "security.color", value), ENODATA);
  EXPECT_EQ(reader_.getxattr(a, "other.color", value), ENODATA);
  ASSERT_EQ(reader_.listxattr(resolve(reader_, "abs"), names), 0);
  EXPECT_EQ(names, "");
  EXPECT_TRUE(reader_.first_corruption().empty());
}

TEST_P(EveryImage, AnswersWrongRequestsWithErrno) {
  Node child = 0;
  struct stat st {};
  EXPECT_EQ(reader_.lookup(SquashfsReader::kRootNode, "nope", child, st), ENOENT);
  EXPECT_EQ(reader_.lookup(SquashfsReader::kRootNode, "a.txt.", child, st), ENOENT);
  EXPECT_EQ(reader_.lookup(SquashfsReader::kRootNode, "", child, st), ENOENT);
  EXPECT_EQ(reader_.lookup(resolve(reader_, "a.txt"), "x", child, st), ENOTDIR);
  EXPECT_EQ(reader_.readdir(resolve(reader_, "a.txt"), 0, [](auto, auto, auto, auto) { return true; }), ENOTDIR);
  EXPECT_TRUE(reader_.first_corruption().empty());
}

TEST_P(EveryImage, ReportsStatfs) {
  struct statvfs st = reader_.statfs();
  EXPECT_EQ(st.f_bsize, 4096u);
  EXPECT_EQ(st.f_files, 10u);
  EXPECT_EQ(st.f_namemax, 256u);
}

TEST(SquashfsReader, ResumesReaddirAtEveryOffsetOfAnIndexedDirectory) {
  for (const char* seed : {"bigdir-raw", "bigdir-zstd"}) {
    SCOPED_TRACE(seed);
    ImageFile file(read_seed(seed));
    SquashfsReader reader = file.reader();
    Node d = resolve(reader, "d");
    struct Entry {
      std::string name;
      Node node;
      std::uint64_t next;
    };
    std::vector<Entry> all;
    ASSERT_EQ(reader.readdir(d, 0,
                             [&](std::string_view name, Node node, mode_t type, std::uint64_t next) {
                               EXPECT_EQ(type, S_IFREG);
                               all.push_back({std::string(name), node, next});
                               return true;
                             }),
              0);
    ASSERT_EQ(all.size(), 130u);
    for (std::size_t i = 0; i < all.size(); ++i) {
      // What the kernel does with a full buffer: resume after entry i.
      std::vector<std::string> rest;
      ASSERT_EQ(reader.readdir(d, all[i].next,
                               [&](std::string_view name, Node, mode_t, std::uint64_t) {
                                 rest.emplace_back(name);
                                 return rest.size() < 2;
                               }),
                0);
      if (i + 1 < all.size()) {
        ASSERT_FALSE(rest.empty()) << i;
        EXPECT_EQ(rest[0], all[i + 1].name);
      } else {
        EXPECT_TRUE(rest.empty());
      }
      // Lookup goes through the directory index to the entry's block.
      Node found = 0;
      struct stat st {};
      ASSERT_EQ(reader.lookup(d, all[i].name, found, st), 0) << all[i].name;
      EXPECT_EQ(found, all[i].node);
      EXPECT_EQ(reader.lookup(d, all[i].name + "!", found, st), ENOENT);
      EXPECT_EQ(reader.lookup(d, all[i].name.substr(0, 9), found, st), ENOENT);
    }
    EXPECT_TRUE(reader.first_corruption().empty()) << reader.first_corruption();
  }
}

TEST(SquashfsReader, ReadsBlockListsAndHoles) {
  ImageFile file(read_seed("files-raw"));
  SquashfsReader reader = file.reader();
  std::string blocks;
  for (int i = 0; i < 3 * 4096 + 100; ++i) blocks.push_back(static_cast<char>((i * 13) % 256));
  EXPECT_EQ(read_all(reader, resolve(reader, "blocks"), 777), blocks);
  EXPECT_EQ(read_all(reader, resolve(reader, "exact"), 5000), std::string(8192, 'x'));
  EXPECT_EQ(read_all(reader, resolve(reader, "empty")), "");
  // 513 blocks, mostly holes: read out of order so the block positions come
  // from checkpoints, from the previous read, and from the start.
  Node holes = resolve(reader, "holes");
  std::vector<char> buffer(10);
  std::size_t got = 0;
  for (std::uint64_t at : {std::uint64_t{2 * 1024 * 1024}, std::uint64_t{1100 * 1024}, std::uint64_t{0},
                           std::uint64_t{1100 * 1024 - 3}, std::uint64_t{2 * 1024 * 1024 - 5}}) {
    ASSERT_EQ(reader.read(holes, at, buffer, got), 0);
    std::string expected(10, '\0');
    for (std::uint64_t data : {std::uint64_t{0}, std::uint64_t{1100 * 1024}, std::uint64_t{2 * 1024 * 1024}}) {
      for (std::uint64_t i = 0; i < 5; ++i) {
        if (data + i >= at && data + i < at + 10) expected[data + i - at] = "data!"[i];
      }
    }
    EXPECT_EQ(std::string(buffer.data(), got), expected.substr(0, got)) << at;
    EXPECT_EQ(got, std::min<std::uint64_t>(10, 2 * 1024 * 1024 + 5 - at));
  }
}

TEST(SquashfsReader, SeveralReadersShareOneImageFd) {
  ImageFile file(read_seed("mini-zstd"));
  SquashfsReader one = file.reader();
  SquashfsReader two = file.reader();
  Node b1 = resolve(one, "dir/b.bin");
  Node b2 = resolve(two, "dir/b.bin");
  std::vector<char> x(100), y(100);
  std::size_t got = 0;
  for (std::uint64_t at = 0; at < 5000; at += 100) {
    ASSERT_EQ(one.read(b1, at, x, got), 0);
    ASSERT_EQ(two.read(b2, 4900 - at, y, got), 0);
    EXPECT_EQ(std::string(x.data(), 100), b_bin().substr(at, 100));
    EXPECT_EQ(std::string(y.data(), 100), b_bin().substr(4900 - at, 100));
  }
}

TEST(SquashfsReader, RefusesLzmaImagesAtOpen) {
  ImageFile file(read_seed("mini-lzma"));
  EXPECT_EQ(hl::testing::error_text([&] { file.reader(); }, true),
            "image `test.sqsh` uses lzma compression, which squashfuse cannot read; rebuild the image with "
            "mksquashfs -comp zstd (or gzip, xz, lz4, lzo)");
}
