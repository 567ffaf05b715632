#include "image/squashfs_xattr.hpp"

#include <array>

#include <fmt/format.h>

namespace hl::image::squashfs {
namespace {

constexpr std::array<std::string_view, 3> kPrefixes = {"user.", "trusted.", "security."};
constexpr std::uint16_t kOutOfLine = 0x100;

MetadataCursor pairs_cursor(Image& image, std::uint64_t ref, const Inode& inode) {
  if ((ref >> 48) != 0 || (ref & 0xffff) >= kMetadataBlockSize) {
    image.corrupt(fmt::format("the xattrs of inode {:#x} refer to {:#x}", inode.ref, ref));
  }
  return {image.xattr_pairs_start() + (ref >> 16), static_cast<std::uint32_t>(ref & 0xffff)};
}

// Calls visit(full name, value size, cursor at the value) for each pair of
// the inode until it returns true.
template <typename Visit>
void for_each_xattr(Image& image, const Inode& inode, Visit visit) {
  if (inode.xattr == kNoXattr) return;
  if (!image.has_xattrs()) image.corrupt(fmt::format("inode {:#x} has xattrs, the image no xattr table", inode.ref));
  XattrIdEntry entry = image.xattr_id(inode.xattr);
  // Even names of one byte fill XATTR_LIST_MAX with ~9000 pairs.
  if (entry.count > kMaxXattrList) {
    image.corrupt(fmt::format("inode {:#x} has {} xattrs", inode.ref, entry.count));
  }
  MetadataCursor cursor = pairs_cursor(image, entry.pairs, inode);
  std::array<char, kMaxXattrName> name{};
  for (std::uint32_t i = 0; i < entry.count; ++i) {
    auto key = image.read_metadata<4>(cursor, Region::kXattrs);
    std::uint16_t type = field<std::uint16_t>(key, 0);
    std::uint16_t size = field<std::uint16_t>(key, 2);
    std::uint16_t prefix = type & 0xff;
    if ((type & ~(kOutOfLine | 0xff)) != 0 || prefix >= kPrefixes.size() ||
        size > kMaxXattrName - kPrefixes[prefix].size()) {
      image.corrupt(
          fmt::format("xattr {} of inode {:#x} has type {:#x} and a name of {} bytes", i, inode.ref, type, size));
    }
    kPrefixes[prefix].copy(name.data(), kPrefixes[prefix].size());
    image.read_metadata(cursor, Region::kXattrs, name.data() + kPrefixes[prefix].size(), size);
    std::uint32_t value_size = field<std::uint32_t>(image.read_metadata<4>(cursor, Region::kXattrs), 0);
    MetadataCursor value = cursor;
    bool out_of_line = (type & kOutOfLine) != 0;
    if (out_of_line) {
      // The value is stored once elsewhere; this pair holds its reference.
      if (value_size != 8) {
        image.corrupt(fmt::format("xattr {} of inode {:#x} is out of line in {} bytes", i, inode.ref, value_size));
      }
      value = pairs_cursor(image, field<std::uint64_t>(image.read_metadata<8>(cursor, Region::kXattrs), 0), inode);
      value_size = field<std::uint32_t>(image.read_metadata<4>(value, Region::kXattrs), 0);
    }
    if (value_size > kMaxXattrValue) {
      image.corrupt(fmt::format("xattr {} of inode {:#x} has a value of {} bytes", i, inode.ref, value_size));
    }
    if (!out_of_line) image.read_metadata(cursor, Region::kXattrs, nullptr, value_size);
    if (visit(std::string_view(name.data(), kPrefixes[prefix].size() + size), value_size, value)) return;
  }
}

}  // namespace

std::string list_xattrs(Image& image, const Inode& inode) {
  std::string names;
  for_each_xattr(image, inode, [&](std::string_view name, std::uint32_t, MetadataCursor) {
    names.append(name);
    names.push_back('\0');
    if (names.size() > kMaxXattrList) {
      image.corrupt(fmt::format("the xattr names of inode {:#x} exceed {} bytes", inode.ref, kMaxXattrList));
    }
    return false;
  });
  return names;
}

std::optional<std::string> get_xattr(Image& image, const Inode& inode, std::string_view name) {
  std::optional<std::string> value;
  for_each_xattr(image, inode, [&](std::string_view stored, std::uint32_t size, MetadataCursor at) {
    if (stored != name) return false;
    value.emplace(size, '\0');
    image.read_metadata(at, Region::kXattrs, value->data(), size);
    return true;
  });
  return value;
}

}  // namespace hl::image::squashfs
