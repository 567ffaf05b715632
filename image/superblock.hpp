#pragma once
// The squashfs 4.0 superblock: 96 little-endian bytes at offset 0. Parsing is
// pure so that every malformed case is unit-tested without a file.
//
// libsquashfuse 0.1.105 trusts these fields (table sizes become malloc sizes,
// table positions become pread offsets, block_log a shift count), so the
// parser checks every one of them against bytes_used and against each other
// before anything hands the image to the library (DESIGN.md §2).
#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace hl::image {

inline constexpr std::size_t kSuperblockSize = 96;
using SuperblockBytes = std::array<std::uint8_t, kSuperblockSize>;

// A table position of "none" (no export table, no xattrs).
inline constexpr std::uint64_t kNoTable = ~std::uint64_t{0};
// Metadata blocks hold 8 KiB once decompressed.
inline constexpr std::uint32_t kMetadataBlockSize = 8192;

struct Superblock {
  std::uint32_t inode_count = 0;
  std::uint32_t mkfs_time = 0;
  std::uint32_t block_size = 0;
  std::uint32_t fragment_count = 0;
  std::uint16_t compression = 0;
  std::uint16_t block_log = 0;
  std::uint16_t flags = 0;
  std::uint16_t id_count = 0;
  std::uint16_t version_major = 0;
  std::uint16_t version_minor = 0;
  std::uint64_t root_inode = 0;  // (metadata block offset << 16) | offset in the block
  std::uint64_t bytes_used = 0;
  std::uint64_t id_table_start = 0;
  std::uint64_t xattr_id_table_start = kNoTable;
  std::uint64_t inode_table_start = 0;
  std::uint64_t directory_table_start = 0;
  std::uint64_t fragment_table_start = 0;
  std::uint64_t export_table_start = kNoTable;

  std::string compression_name() const;
  bool has_xattrs() const { return xattr_id_table_start != kNoTable; }
};

// Throws hl::Error naming `path` when the bytes are short, the magic is not
// "hsqs", the version is not 4.0, or the fields contradict each other: block
// size, table positions outside [directory table, bytes_used) or overlapping,
// a root inode outside the inode table. The hint names `unsquashfs -s`.
Superblock parse_superblock(std::span<const std::uint8_t> bytes, const std::string& path);

// libsquashfuse here reads gzip, lzo, xz, lz4 and zstd, not lzma: throws a
// hint to rebuild the image for anything else.
void check_supported_compression(const Superblock& sb, const std::string& path);

// A file shorter than bytes_used was cut off in a copy: say so and how to fix it.
void check_image_size(const Superblock& sb, std::uint64_t file_size, const std::string& path);

// The 16-byte header at xattr_id_table_start: where the name/value pairs
// start and how many xattr ids the index that follows it covers.
inline constexpr std::size_t kXattrIdTableHeaderSize = 16;
struct XattrIdTable {
  std::uint64_t pairs_start = 0;
  std::uint32_t id_count = 0;
};
// Throws (as parse_superblock) when the pairs do not lie between the
// directory table and the header, or the index runs past bytes_used.
XattrIdTable parse_xattr_id_table(const Superblock& sb, std::span<const std::uint8_t> header, const std::string& path);

// Hints for errors about a corrupt image: its superblock and tables
// (`unsquashfs -s`), or its inodes and directories (`unsquashfs -l`).
std::string corrupt_superblock_hint(const std::string& path);
std::string corrupt_image_hint(const std::string& path);

}  // namespace hl::image
