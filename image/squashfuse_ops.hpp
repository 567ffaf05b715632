#pragma once
// The FUSE low-level operations the holder serves, answered by a
// SquashfsReader (image/squashfs_reader.hpp), which reads the image through
// libsquashfuse with every input bounded. open/opendir are answered ENOSYS,
// so the kernel stops sending OPEN, RELEASE, OPENDIR and RELEASEDIR round
// trips (a dlopen storm makes thousands); read and readdir find the inode by
// number instead of a handle. Each request is counted, for `-v` and the
// benchmarks.
#define FUSE_USE_VERSION 32
#include <fuse3/fuse_lowlevel.h>

#include <array>
#include <cstdint>
#include <string>

namespace hl::image {

enum class FuseOp { lookup, forget, getattr, readlink, open, read, opendir, readdir, statfs, xattr, other, count };

struct FuseRequestCounts {
  std::array<std::uint64_t, static_cast<std::size_t>(FuseOp::count)> by_op{};
  std::string summary() const;  // "lookup=12 getattr=3 read=40 ..."
};

// The session's userdata must be the SquashfsReader. Counts go to `counts`,
// which must outlive the session.
fuse_lowlevel_ops squashfs_operations(FuseRequestCounts& counts, bool image_has_xattrs);

}  // namespace hl::image
