#include "image/superblock.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"

namespace hl::image {
namespace {

constexpr std::uint32_t kMagic = 0x73717368;  // "hsqs" read little-endian
constexpr std::uint32_t kMinBlockSize = 4096;
constexpr std::uint32_t kMaxBlockSize = 1u << 20;

template <typename T>
T little_endian(std::span<const std::uint8_t> bytes, std::size_t offset) {
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(bytes[offset + i]) << (8 * i);
  return value;
}

[[noreturn]] void corrupt(const std::string& path, const std::string& detail) {
  throw Error(fmt::format("image `{}` has a corrupt squashfs superblock: {}", path, detail),
              corrupt_superblock_hint(path));
}

// [start, start + length) inside [low, high), without overflowing.
bool inside(std::uint64_t start, std::uint64_t length, std::uint64_t low, std::uint64_t high) {
  return start >= low && start <= high && length <= high - start;
}

// The u64 index of metadata block positions that libsquashfuse reads (and
// allocates) for a table of `count` entries of `each` bytes.
std::uint64_t index_bytes(std::uint64_t count, std::uint64_t each) {
  return (count * each + kMetadataBlockSize - 1) / kMetadataBlockSize * sizeof(std::uint64_t);
}

struct TableIndex {
  const char* name;
  std::uint64_t start;
  std::uint64_t bytes;
};

void check_block_size(const Superblock& sb, const std::string& path) {
  bool power_of_two = sb.block_size != 0 && (sb.block_size & (sb.block_size - 1)) == 0;
  if (!power_of_two || sb.block_size < kMinBlockSize || sb.block_size > kMaxBlockSize) {
    corrupt(path, fmt::format("block size {} is not a power of two from 4 KiB to 1 MiB", sb.block_size));
  }
  if (sb.block_log >= 32 || (1u << sb.block_log) != sb.block_size) {
    corrupt(path, fmt::format("block size {} and block log {} disagree", sb.block_size, sb.block_log));
  }
}

// Metadata lies at the end (DESIGN.md §4): inode table, directory table, then
// the fragment, export, id and xattr tables, whose superblock positions are
// those of their indexes. Every index must lie after the directory table
// start, inside bytes_used, and apart from the others.
void check_layout(const Superblock& sb, const std::string& path) {
  if (sb.bytes_used < kSuperblockSize || sb.inode_table_start < kSuperblockSize ||
      sb.inode_table_start >= sb.directory_table_start || sb.directory_table_start >= sb.bytes_used) {
    corrupt(path, fmt::format("inode table at byte {}, directory table at byte {} and size {} are out of order",
                              sb.inode_table_start, sb.directory_table_start, sb.bytes_used));
  }
  std::uint64_t root_block = sb.root_inode >> 16;
  if ((sb.root_inode >> 48) != 0 || (sb.root_inode & 0xffff) >= kMetadataBlockSize ||
      root_block >= sb.directory_table_start - sb.inode_table_start) {
    corrupt(path, fmt::format("root inode reference {:#x} lies outside the inode table", sb.root_inode));
  }
  if (sb.inode_count == 0) corrupt(path, "no inodes");
  if (sb.id_count == 0) corrupt(path, "no uid/gid table entries");

  std::vector<TableIndex> indexes{{"id table", sb.id_table_start, index_bytes(sb.id_count, 4)}};
  if (sb.fragment_count != 0) {
    indexes.push_back({"fragment table", sb.fragment_table_start, index_bytes(sb.fragment_count, 16)});
  }
  if (sb.export_table_start != kNoTable) {
    indexes.push_back({"export table", sb.export_table_start, index_bytes(sb.inode_count, 8)});
  }
  if (sb.has_xattrs()) indexes.push_back({"xattr id table", sb.xattr_id_table_start, kXattrIdTableHeaderSize});
  for (const auto& t : indexes) {
    if (!inside(t.start, t.bytes, sb.directory_table_start, sb.bytes_used)) {
      corrupt(path, fmt::format("the {} ({} bytes at byte {}) lies outside the metadata (bytes {} to {})", t.name,
                                t.bytes, t.start, sb.directory_table_start, sb.bytes_used));
    }
  }
  std::sort(indexes.begin(), indexes.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
  for (std::size_t i = 1; i < indexes.size(); ++i) {
    if (indexes[i].start < indexes[i - 1].start + indexes[i - 1].bytes) {
      corrupt(path, fmt::format("the {} and the {} overlap", indexes[i - 1].name, indexes[i].name));
    }
  }
}

}  // namespace

std::string corrupt_superblock_hint(const std::string& path) {
  return fmt::format("check it with `unsquashfs -s {}`; rebuild or re-copy the image", path);
}

std::string corrupt_image_hint(const std::string& path) {
  return fmt::format("check it with `unsquashfs -l {}`; rebuild or re-copy the image", path);
}

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
  sb.fragment_count = little_endian<std::uint32_t>(bytes, 16);
  sb.compression = little_endian<std::uint16_t>(bytes, 20);
  sb.block_log = little_endian<std::uint16_t>(bytes, 22);
  sb.flags = little_endian<std::uint16_t>(bytes, 24);
  sb.id_count = little_endian<std::uint16_t>(bytes, 26);
  sb.version_major = little_endian<std::uint16_t>(bytes, 28);
  sb.version_minor = little_endian<std::uint16_t>(bytes, 30);
  sb.root_inode = little_endian<std::uint64_t>(bytes, 32);
  sb.bytes_used = little_endian<std::uint64_t>(bytes, 40);
  sb.id_table_start = little_endian<std::uint64_t>(bytes, 48);
  sb.xattr_id_table_start = little_endian<std::uint64_t>(bytes, 56);
  sb.inode_table_start = little_endian<std::uint64_t>(bytes, 64);
  sb.directory_table_start = little_endian<std::uint64_t>(bytes, 72);
  sb.fragment_table_start = little_endian<std::uint64_t>(bytes, 80);
  sb.export_table_start = little_endian<std::uint64_t>(bytes, 88);
  if (sb.version_major != 4 || sb.version_minor != 0) {
    throw Error(fmt::format("image `{}` is squashfs version {}.{}; only 4.0 is supported", path, sb.version_major,
                            sb.version_minor),
                "rebuild it with a current mksquashfs");
  }
  if (sb.compression < 1 || sb.compression > 6) {
    corrupt(path, fmt::format("unknown compression {}", sb.compression));
  }
  check_block_size(sb, path);
  check_layout(sb, path);
  return sb;
}

void check_supported_compression(const Superblock& sb, const std::string& path) {
  if (sb.compression == 2) {
    throw Error(fmt::format("image `{}` uses lzma compression, which squashfuse cannot read", path),
                "rebuild the image with mksquashfs -comp zstd (or gzip, xz, lz4, lzo)");
  }
}

void check_image_size(const Superblock& sb, std::uint64_t file_size, const std::string& path) {
  if (file_size < sb.bytes_used) {
    throw Error(fmt::format("image `{}` is truncated: its superblock says {} bytes, the file has {}", path,
                            sb.bytes_used, file_size),
                "the copy was cut short; copy the image again");
  }
}

XattrIdTable parse_xattr_id_table(const Superblock& sb, std::span<const std::uint8_t> header, const std::string& path) {
  if (header.size() < kXattrIdTableHeaderSize) corrupt(path, "the xattr id table header is cut short");
  XattrIdTable table;
  table.pairs_start = little_endian<std::uint64_t>(header, 0);
  table.id_count = little_endian<std::uint32_t>(header, 8);
  if (table.pairs_start < sb.directory_table_start || table.pairs_start >= sb.xattr_id_table_start) {
    corrupt(path, fmt::format("the xattr table at byte {} does not lie before its id table at byte {}",
                              table.pairs_start, sb.xattr_id_table_start));
  }
  std::uint64_t index_start = sb.xattr_id_table_start + kXattrIdTableHeaderSize;
  if (!inside(index_start, index_bytes(table.id_count, 16), index_start, sb.bytes_used)) {
    corrupt(path, fmt::format("the xattr id table index ({} ids) runs past byte {}", table.id_count, sb.bytes_used));
  }
  return table;
}

}  // namespace hl::image
