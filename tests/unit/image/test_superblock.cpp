#include <gtest/gtest.h>

#include <cstring>

#include "tests/unit/error_text.hpp"
#include "common/error.hpp"
#include "image/superblock.hpp"

using namespace hl;
using namespace hl::image;

namespace {

SuperblockBytes valid_superblock() {
  SuperblockBytes b{};
  auto put32 = [&](std::size_t off, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  auto put16 = [&](std::size_t off, std::uint16_t v) {
    b[off] = static_cast<std::uint8_t>(v);
    b[off + 1] = static_cast<std::uint8_t>(v >> 8);
  };
  auto put64 = [&](std::size_t off, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  std::memcpy(b.data(), "hsqs", 4);
  put32(4, 42);          // inodes
  put32(8, 1700000000);  // mkfs time
  put32(12, 131072);     // block size
  put16(20, 6);          // zstd
  put16(22, 17);         // block log
  put16(28, 4);
  put16(30, 0);
  put64(40, 4096);  // bytes used
  put64(64, 1024);  // inode table start
  return b;
}

std::string message_of(const std::function<void()>& f) { return hl::testing::error_text(f); }

}  // namespace

TEST(Superblock, ParsesFields) {
  auto b = valid_superblock();
  Superblock sb = parse_superblock(b, "app.sqsh");
  EXPECT_EQ(sb.inode_count, 42u);
  EXPECT_EQ(sb.block_size, 131072u);
  EXPECT_EQ(sb.bytes_used, 4096u);
  EXPECT_EQ(sb.compression_name(), "zstd");
  EXPECT_EQ(sb.version_major, 4);
}

TEST(Superblock, RejectsShortInput) {
  auto b = valid_superblock();
  EXPECT_EQ(message_of([&] { parse_superblock(std::span(b.data(), 10), "x.sqsh"); }),
            "image `x.sqsh` is not a squashfs image: only 10 bytes, a superblock needs 96");
}

TEST(Superblock, RejectsWrongMagic) {
  auto b = valid_superblock();
  b[0] = 'X';
  EXPECT_EQ(message_of([&] { parse_superblock(b, "x.sqsh"); }),
            "image `x.sqsh` is not a squashfs image (no `hsqs` magic)");
}

TEST(Superblock, RejectsOtherVersions) {
  auto b = valid_superblock();
  b[28] = 3;
  EXPECT_NE(message_of([&] { parse_superblock(b, "x.sqsh"); }).find("version 3.0"), std::string::npos);
}

TEST(Superblock, RejectsInconsistentBlockSize) {
  auto b = valid_superblock();
  b[22] = 16;  // block_log does not match block_size
  EXPECT_NE(message_of([&] { parse_superblock(b, "x.sqsh"); }).find("corrupt"), std::string::npos);
}

TEST(Superblock, DetectsTruncatedImage) {
  auto sb = parse_superblock(valid_superblock(), "x.sqsh");
  EXPECT_NO_THROW(check_image_size(sb, 4096, "x.sqsh"));
  EXPECT_EQ(message_of([&] { check_image_size(sb, 4000, "x.sqsh"); }),
            "image `x.sqsh` is truncated: its superblock says 4096 bytes, the file has 4000");
}
