#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/unit/error_text.hpp"
#include "common/error.hpp"
#include "image/superblock.hpp"

using namespace hl;
using namespace hl::image;

namespace {

void put16(SuperblockBytes& b, std::size_t off, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void put32(SuperblockBytes& b, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void put64(SuperblockBytes& b, std::size_t off, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Offsets of the fields the tests change.
enum : std::size_t {
  kInodes = 4,
  kBlockSize = 12,
  kFragments = 16,
  kCompression = 20,
  kBlockLog = 22,
  kIds = 26,
  kMajor = 28,
  kMinor = 30,
  kRoot = 32,
  kBytesUsed = 40,
  kIdTable = 48,
  kXattrTable = 56,
  kInodeTable = 64,
  kDirectoryTable = 72,
  kFragmentTable = 80,
  kExportTable = 88,
};

// Data, inode table at 1024, directory table at 2048, the id table's index at 4000.
SuperblockBytes valid_superblock() {
  SuperblockBytes b{};
  std::memcpy(b.data(), "hsqs", 4);
  put32(b, kInodes, 42);
  put32(b, 8, 1700000000);  // mkfs time
  put32(b, kBlockSize, 131072);
  put16(b, kCompression, 6);  // zstd
  put16(b, kBlockLog, 17);
  put16(b, kIds, 1);
  put16(b, kMajor, 4);
  put64(b, kRoot, (16 << 16) | 40);
  put64(b, kBytesUsed, 4096);
  put64(b, kIdTable, 4000);
  put64(b, kXattrTable, kNoTable);
  put64(b, kInodeTable, 1024);
  put64(b, kDirectoryTable, 2048);
  put64(b, kFragmentTable, 3000);  // no fragments: not looked at
  put64(b, kExportTable, kNoTable);
  return b;
}

std::string message_of(const std::function<void()>& f) { return hl::testing::error_text(f); }
std::string described(const std::function<void()>& f) { return hl::testing::error_text(f, true); }

std::string corrupt_message(const SuperblockBytes& b) {
  return message_of([&] { parse_superblock(b, "x.sqsh"); });
}

const std::string kCorrupt = "image `x.sqsh` has a corrupt squashfs superblock: ";

}  // namespace

TEST(Superblock, ParsesFields) {
  auto b = valid_superblock();
  Superblock sb = parse_superblock(b, "app.sqsh");
  EXPECT_EQ(sb.inode_count, 42u);
  EXPECT_EQ(sb.block_size, 131072u);
  EXPECT_EQ(sb.bytes_used, 4096u);
  EXPECT_EQ(sb.compression_name(), "zstd");
  EXPECT_EQ(sb.version_major, 4);
  EXPECT_EQ(sb.root_inode, (16u << 16) | 40u);
  EXPECT_EQ(sb.id_count, 1);
  EXPECT_EQ(sb.id_table_start, 4000u);
  EXPECT_EQ(sb.directory_table_start, 2048u);
  EXPECT_FALSE(sb.has_xattrs());
  EXPECT_EQ(sb.export_table_start, kNoTable);
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
  b[kMajor] = 3;
  EXPECT_NE(message_of([&] { parse_superblock(b, "x.sqsh"); }).find("version 3.0"), std::string::npos);
  b = valid_superblock();
  b[kMinor] = 1;  // libsquashfuse reads 4.0 only
  EXPECT_NE(message_of([&] { parse_superblock(b, "x.sqsh"); }).find("version 4.1; only 4.0"), std::string::npos);
}

TEST(Superblock, RejectsInconsistentBlockSize) {
  auto b = valid_superblock();
  b[kBlockLog] = 16;  // block_log does not match block_size
  EXPECT_EQ(corrupt_message(b), kCorrupt + "block size 131072 and block log 16 disagree");
  // The library shifts by block_log: 32 or more would be undefined.
  b[kBlockLog] = 200;
  EXPECT_EQ(corrupt_message(b), kCorrupt + "block size 131072 and block log 200 disagree");
}

TEST(Superblock, RejectsBlockSizesMksquashfsCannotMake) {
  auto b = valid_superblock();
  put32(b, kBlockSize, 2048);
  b[kBlockLog] = 11;
  EXPECT_EQ(corrupt_message(b), kCorrupt + "block size 2048 is not a power of two from 4 KiB to 1 MiB");
  put32(b, kBlockSize, 1u << 21);
  b[kBlockLog] = 21;
  EXPECT_NE(corrupt_message(b).find("block size 2097152 is not"), std::string::npos);
  put32(b, kBlockSize, 131073);
  EXPECT_NE(corrupt_message(b).find("block size 131073 is not"), std::string::npos);
}

TEST(Superblock, RejectsUnknownCompression) {
  auto b = valid_superblock();
  put16(b, kCompression, 7);
  EXPECT_EQ(corrupt_message(b), kCorrupt + "unknown compression 7");
  put16(b, kCompression, 0);
  EXPECT_EQ(corrupt_message(b), kCorrupt + "unknown compression 0");
}

TEST(Superblock, LzmaIsValidButUnsupported) {
  auto b = valid_superblock();
  put16(b, kCompression, 2);
  Superblock sb = parse_superblock(b, "x.sqsh");
  EXPECT_EQ(described([&] { check_supported_compression(sb, "x.sqsh"); }),
            "image `x.sqsh` uses lzma compression, which squashfuse cannot read; rebuild the image with mksquashfs "
            "-comp zstd (or gzip, xz, lz4, lzo)");
  put16(b, kCompression, 4);
  EXPECT_NO_THROW(check_supported_compression(parse_superblock(b, "x.sqsh"), "x.sqsh"));
}

TEST(Superblock, RejectsTablesOutOfOrder) {
  auto b = valid_superblock();
  put64(b, kInodeTable, 2048);
  EXPECT_EQ(corrupt_message(b),
            kCorrupt + "inode table at byte 2048, directory table at byte 2048 and size 4096 are out of order");
  b = valid_superblock();
  put64(b, kDirectoryTable, 4096);
  EXPECT_NE(corrupt_message(b).find("are out of order"), std::string::npos);
  b = valid_superblock();
  put64(b, kInodeTable, 40);  // inside the superblock
  EXPECT_NE(corrupt_message(b).find("are out of order"), std::string::npos);
}

TEST(Superblock, RejectsRootOutsideTheInodeTable) {
  auto b = valid_superblock();
  put64(b, kRoot, std::uint64_t{1024} << 16);  // block 1024 of a 1024-byte inode table
  EXPECT_EQ(corrupt_message(b), kCorrupt + "root inode reference 0x4000000 lies outside the inode table");
  put64(b, kRoot, 0x2000);  // offset 8192 in a metadata block of 8192 bytes
  EXPECT_NE(corrupt_message(b).find("root inode reference 0x2000"), std::string::npos);
  put64(b, kRoot, std::uint64_t{1} << 48);
  EXPECT_NE(corrupt_message(b).find("root inode reference 0x1000000000000"), std::string::npos);
}

TEST(Superblock, RejectsEmptyTables) {
  auto b = valid_superblock();
  put16(b, kIds, 0);  // libsquashfuse would look up uids in a NULL table
  EXPECT_EQ(corrupt_message(b), kCorrupt + "no uid/gid table entries");
  b = valid_superblock();
  put32(b, kInodes, 0);
  EXPECT_EQ(corrupt_message(b), kCorrupt + "no inodes");
}

TEST(Superblock, RejectsTableIndexesOutsideTheMetadata) {
  auto b = valid_superblock();
  put64(b, kIdTable, 4090);  // 8 bytes from 4090 pass bytes_used
  EXPECT_EQ(corrupt_message(b),
            kCorrupt + "the id table (8 bytes at byte 4090) lies outside the metadata (bytes 2048 to 4096)");
  put64(b, kIdTable, 1500);  // inside the inode table
  EXPECT_NE(corrupt_message(b).find("the id table (8 bytes at byte 1500)"), std::string::npos);
  put64(b, kIdTable, ~std::uint64_t{0} - 4);  // start + size would wrap around
  EXPECT_NE(corrupt_message(b).find("the id table"), std::string::npos);
}

TEST(Superblock, RejectsCountsWhoseIndexWouldNotFit) {
  // libsquashfuse allocates and preads the index for these counts: 4 G
  // fragments would be 64 MiB (and a pread past the end of a small file).
  auto b = valid_superblock();
  put32(b, kFragments, 0xffffffff);
  put64(b, kFragmentTable, 3000);
  EXPECT_EQ(corrupt_message(b), kCorrupt +
                                    "the fragment table (67108864 bytes at byte 3000) lies outside the metadata "
                                    "(bytes 2048 to 4096)");
  b = valid_superblock();
  put32(b, kInodes, 0xffffffff);
  put64(b, kExportTable, 3000);
  EXPECT_NE(corrupt_message(b).find("the export table (33554432 bytes at byte 3000)"), std::string::npos);
  put32(b, kInodes, 42);
  EXPECT_NO_THROW(parse_superblock(b, "x.sqsh"));
}

TEST(Superblock, RejectsOverlappingTables) {
  auto b = valid_superblock();
  put32(b, kFragments, 3);
  put64(b, kFragmentTable, 3996);  // its 8-byte index runs into the id table's
  EXPECT_EQ(corrupt_message(b), kCorrupt + "the fragment table and the id table overlap");
}

TEST(Superblock, CorruptionHintNamesUnsquashfs) {
  auto b = valid_superblock();
  put16(b, kIds, 0);
  EXPECT_EQ(described([&] { parse_superblock(b, "/data/app.sqsh"); }),
            "image `/data/app.sqsh` has a corrupt squashfs superblock: no uid/gid table entries; check it with "
            "`unsquashfs -s /data/app.sqsh`; rebuild or re-copy the image");
}

TEST(Superblock, ChecksTheXattrIdTableHeader) {
  auto b = valid_superblock();
  put64(b, kXattrTable, 4040);
  Superblock sb = parse_superblock(b, "x.sqsh");
  EXPECT_TRUE(sb.has_xattrs());
  std::array<std::uint8_t, 16> header{};
  auto set = [&](std::uint64_t pairs, std::uint32_t ids) {
    for (int i = 0; i < 8; ++i) header[i] = static_cast<std::uint8_t>(pairs >> (8 * i));
    for (int i = 0; i < 4; ++i) header[8 + i] = static_cast<std::uint8_t>(ids >> (8 * i));
  };
  set(3500, 2);
  XattrIdTable table = parse_xattr_id_table(sb, header, "x.sqsh");
  EXPECT_EQ(table.pairs_start, 3500u);
  EXPECT_EQ(table.id_count, 2u);
  set(4040, 2);  // the pairs must come before the header
  EXPECT_EQ(message_of([&] { parse_xattr_id_table(sb, header, "x.sqsh"); }),
            kCorrupt + "the xattr table at byte 4040 does not lie before its id table at byte 4040");
  set(3500, 0x10000000);  // an index of 1.5 MiB
  EXPECT_EQ(message_of([&] { parse_xattr_id_table(sb, header, "x.sqsh"); }),
            kCorrupt + "the xattr id table index (268435456 ids) runs past byte 4096");
  EXPECT_NE(message_of([&] { parse_xattr_id_table(sb, std::span(header).first(8), "x.sqsh"); }).find("cut short"),
            std::string::npos);
}

TEST(Superblock, AcceptsWhatMksquashfsAndTar2sqfsWrite) {
  // The seed images of the reader's fuzz corpus: mksquashfs 4.5.1 with each
  // compressor, uncompressed, a directory with an index, tar2sqfs.
  std::size_t seen = 0;
  for (const auto& file : std::filesystem::directory_iterator(HL_FUZZ_CORPUS "/squashfs_reader")) {
    if (file.path().filename().string().rfind("regress-", 0) == 0) continue;  // corrupt on purpose
    std::ifstream in(file.path(), std::ios::binary);
    SuperblockBytes b{};
    in.read(reinterpret_cast<char*>(b.data()), b.size());
    EXPECT_NO_THROW(parse_superblock(b, file.path())) << file.path();
    ++seen;
  }
  EXPECT_GE(seen, 8u);
}

TEST(Superblock, DetectsTruncatedImage) {
  auto sb = parse_superblock(valid_superblock(), "x.sqsh");
  EXPECT_NO_THROW(check_image_size(sb, 4096, "x.sqsh"));
  EXPECT_EQ(message_of([&] { check_image_size(sb, 4000, "x.sqsh"); }),
            "image `x.sqsh` is truncated: its superblock says 4096 bytes, the file has 4000");
}
