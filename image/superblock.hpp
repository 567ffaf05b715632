#pragma once
// The squashfs 4.0 superblock: 96 little-endian bytes at offset 0. Parsing is
// pure so that every malformed case is unit-tested without a file.
#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace hl::image {

inline constexpr std::size_t kSuperblockSize = 96;
using SuperblockBytes = std::array<std::uint8_t, kSuperblockSize>;

struct Superblock {
  std::uint32_t inode_count = 0;
  std::uint32_t mkfs_time = 0;
  std::uint32_t block_size = 0;
  std::uint16_t compression = 0;
  std::uint16_t version_major = 0;
  std::uint16_t version_minor = 0;
  std::uint64_t bytes_used = 0;
  std::uint64_t inode_table_start = 0;

  std::string compression_name() const;
};

// Throws hl::Error naming `path` when the bytes are short, the magic is not
// "hsqs", the version is not 4.x, or the fields contradict each other.
Superblock parse_superblock(std::span<const std::uint8_t> bytes, const std::string& path);

// A file shorter than bytes_used was cut off in a copy: say so and how to fix it.
void check_image_size(const Superblock& sb, std::uint64_t file_size, const std::string& path);

}  // namespace hl::image
