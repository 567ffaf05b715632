#include "image/superblock.hpp"

#include <fmt/format.h>

#include "common/error.hpp"

namespace hl::image {
namespace {

constexpr std::uint32_t kMagic = 0x73717368;  // "hsqs" read little-endian

template <typename T>
T little_endian(std::span<const std::uint8_t> bytes, std::size_t offset) {
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(bytes[offset + i]) << (8 * i);
  return value;
}

}  // namespace

std::string Superblock::compression_name() const {
  switch (compression) {
    case 1:
      return "gzip";
    case 2:
      return "lzma";
    case 3:
      return "lzo";
    case 4:
      return "xz";
    case 5:
      return "lz4";
    case 6:
      return "zstd";
    default:
      return fmt::format("unknown({})", compression);
  }
}

Superblock parse_superblock(std::span<const std::uint8_t> bytes, const std::string& path) {
  if (bytes.size() < kSuperblockSize) {
    throw Error(fmt::format("image `{}` is not a squashfs image: only {} bytes, a superblock needs {}", path,
                            bytes.size(), kSuperblockSize),
                "build images with mksquashfs or `hpclaunch import`");
  }
  if (little_endian<std::uint32_t>(bytes, 0) != kMagic) {
    throw Error(fmt::format("image `{}` is not a squashfs image (no `hsqs` magic)", path),
                "build images with mksquashfs or `hpclaunch import`");
  }
  Superblock sb;
  sb.inode_count = little_endian<std::uint32_t>(bytes, 4);
  sb.mkfs_time = little_endian<std::uint32_t>(bytes, 8);
  sb.block_size = little_endian<std::uint32_t>(bytes, 12);
  sb.compression = little_endian<std::uint16_t>(bytes, 20);
  auto block_log = little_endian<std::uint16_t>(bytes, 22);
  sb.version_major = little_endian<std::uint16_t>(bytes, 28);
  sb.version_minor = little_endian<std::uint16_t>(bytes, 30);
  sb.bytes_used = little_endian<std::uint64_t>(bytes, 40);
  sb.inode_table_start = little_endian<std::uint64_t>(bytes, 64);
  if (sb.version_major != 4) {
    throw Error(fmt::format("image `{}` is squashfs version {}.{}; only 4.x is supported", path, sb.version_major,
                            sb.version_minor),
                "rebuild it with a current mksquashfs");
  }
  if (block_log >= 32 || sb.block_size != (1u << block_log) || sb.inode_table_start > sb.bytes_used ||
      sb.bytes_used < kSuperblockSize) {
    throw Error(fmt::format("image `{}` has a corrupt squashfs superblock", path), "rebuild or re-copy the image");
  }
  return sb;
}

void check_image_size(const Superblock& sb, std::uint64_t file_size, const std::string& path) {
  if (file_size < sb.bytes_used) {
    throw Error(fmt::format("image `{}` is truncated: its superblock says {} bytes, the file has {}", path,
                            sb.bytes_used, file_size),
                "the copy was cut short; copy the image again");
  }
}

}  // namespace hl::image
