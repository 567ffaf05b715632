#pragma once
// Extended attributes: an inode's index into the xattr id table, which gives
// its run of name/value pairs. libsquashfuse 0.1.105 reads a stored name into
// a buffer sized for the name asked about (heap overflow when a name of the
// same prefix is longer, even in a valid image: its test says && for ||), and
// maps prefix 1 to "security." and 2 to "trusted." (the kernel's order is
// user, trusted, security; fixed upstream after 0.1.105).
#include <optional>
#include <string>
#include <string_view>

#include "image/squashfs_image.hpp"
#include "image/squashfs_inode.hpp"

namespace hl::image::squashfs {

// Linux limits: XATTR_NAME_MAX, XATTR_SIZE_MAX, XATTR_LIST_MAX.
inline constexpr std::size_t kMaxXattrName = 255;
inline constexpr std::size_t kMaxXattrValue = 65536;
inline constexpr std::size_t kMaxXattrList = 65536;

// "user.a\0trusted.b\0" for `inode`. Throws CorruptImage.
std::string list_xattrs(Image& image, const Inode& inode);
// The value of `name`; nullopt when the inode has none by that name.
std::optional<std::string> get_xattr(Image& image, const Inode& inode, std::string_view name);

}  // namespace hl::image::squashfs
