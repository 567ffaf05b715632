#include "image/squashfs_directory.hpp"

#include <string>

#include <fmt/format.h>

namespace hl::image::squashfs {
namespace {

constexpr std::uint32_t kMaxEntriesPerHeader = 256;
constexpr std::uint32_t kHeaderSize = 12;
constexpr std::uint32_t kEntrySize = 8;

// `name` for a one-line message: bytes outside printable ASCII as '?'.
std::string printable(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

}  // namespace

DirectoryListing::DirectoryListing(Image& image, const Inode& dir) : image_(image), dir_(dir) { rewind(); }

void DirectoryListing::rewind() {
  cursor_ = {image_.superblock().directory_table_start + dir_.listing_block, dir_.listing_offset};
  position_ = 0;
  // mksquashfs counts 3 bytes more than the listing holds (for "." and "..").
  total_ = dir_.listing_size > 3 ? dir_.listing_size - 3 : 0;
  remaining_ = 0;
}

std::string_view DirectoryListing::read_name(MetadataCursor& cursor, Region region, std::uint32_t size_field,
                                             const char* what) {
  if (size_field >= name_.size() - 1) {
    image_.corrupt(fmt::format("{} of directory inode {:#x} has a name of {} bytes", what, dir_.ref,
                               std::uint64_t{size_field} + 1));
  }
  image_.read_metadata(cursor, region, name_.data(), size_field + 1);
  name_[size_field + 1] = '\0';
  return {name_.data(), size_field + 1};
}

template <typename Before>
void DirectoryListing::skip_with_index(Before before) {
  MetadataCursor cursor = dir_.index;
  std::uint64_t previous = 0;
  for (std::uint32_t i = 0; i < dir_.index_count; ++i) {
    auto b = image_.read_metadata<12>(cursor, Region::kInodes);
    std::uint32_t offset = field<std::uint32_t>(b, 0);
    std::uint32_t block = field<std::uint32_t>(b, 4);
    std::string_view first_name = read_name(cursor, Region::kInodes, field<std::uint32_t>(b, 8), "an index entry");
    if (offset >= total_ || (i > 0 && offset <= previous)) {
      image_.corrupt(
          fmt::format("the index of directory inode {:#x} points to offset {} of {}", dir_.ref, offset, total_));
    }
    previous = offset;
    if (!before(offset, first_name)) break;
    // Each indexed header starts a metadata block; its offset in that block
    // follows from the listing's start (blocks hold 8 KiB; the metadata
    // reader checks the offset against the block it finds).
    cursor_ = {image_.superblock().directory_table_start + block,
               static_cast<std::uint32_t>((dir_.listing_offset + std::uint64_t{offset}) % kMetadataBlockSize)};
    position_ = offset;
    remaining_ = 0;
  }
}

void DirectoryListing::seek(std::uint64_t offset) {
  rewind();
  if (offset == 0) return;
  skip_with_index([&](std::uint64_t at, std::string_view) { return at <= offset; });
  DirectoryEntry entry;
  while (position_ < offset && next(entry)) {
  }
  if (position_ != offset) {
    image_.corrupt(fmt::format("no entry of directory inode {:#x} ends at offset {}", dir_.ref, offset));
  }
}

bool DirectoryListing::next(DirectoryEntry& entry) {
  if (remaining_ == 0) {
    if (position_ >= total_) return false;
    auto h = image_.read_metadata<kHeaderSize>(cursor_, Region::kDirectories);
    std::uint64_t count = std::uint64_t{field<std::uint32_t>(h, 0)} + 1;  // stored minus one
    if (count > kMaxEntriesPerHeader) {
      image_.corrupt(fmt::format("a header of directory inode {:#x} counts {} entries", dir_.ref, count));
    }
    remaining_ = static_cast<std::uint32_t>(count);
    header_block_ = field<std::uint32_t>(h, 4);
    position_ += kHeaderSize;
  }
  auto e = image_.read_metadata<kEntrySize>(cursor_, Region::kDirectories);
  std::uint16_t offset = field<std::uint16_t>(e, 0);
  std::uint16_t type = field<std::uint16_t>(e, 4);
  std::string_view name = read_name(cursor_, Region::kDirectories, field<std::uint16_t>(e, 6), "an entry");
  --remaining_;
  position_ += kEntrySize + name.size();
  if (position_ > total_) {
    image_.corrupt(fmt::format("the listing of directory inode {:#x} runs past its {} bytes", dir_.ref, total_));
  }
  if (mode_of_type(type) == 0 || offset >= kMetadataBlockSize) {
    image_.corrupt(
        fmt::format("directory inode {:#x} has an entry of type {} at inode offset {}", dir_.ref, type, offset));
  }
  // The kernel rejects such names in a FUSE readdir reply (EIO for the whole
  // listing); say which image is wrong instead.
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos || name == "." ||
      name == "..") {
    image_.corrupt(fmt::format("directory inode {:#x} has an entry named `{}`", dir_.ref, printable(name)));
  }
  entry = {name, (std::uint64_t{header_block_} << 16) | offset, type, position_};
  return true;
}

bool DirectoryListing::find(std::string_view name, DirectoryEntry& entry) {
  rewind();
  skip_with_index([&](std::uint64_t, std::string_view first) { return first <= name; });
  while (next(entry)) {
    int order = entry.name.compare(name);
    if (order == 0) return true;
    if (order > 0) return false;
  }
  return false;
}

}  // namespace hl::image::squashfs
