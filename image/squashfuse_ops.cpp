#include "image/squashfuse_ops.hpp"

#include <cerrno>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/log.hpp"
#include "image/squashfs_reader.hpp"

namespace hl::image {
namespace {

FuseRequestCounts* g_counts = nullptr;  // the server is single-threaded
bool g_corruption_reported = false;

// The image never changes under a mount: the kernel may cache everything
// for ever (libsquashfuse's choice too).
constexpr double kForever = std::numeric_limits<double>::max();

void count(FuseOp op) {
  if (g_counts != nullptr) ++g_counts->by_op[static_cast<std::size_t>(op)];
}

SquashfsReader& reader(fuse_req_t req) { return *static_cast<SquashfsReader*>(fuse_req_userdata(req)); }

// The first EIO is also said in the holder's output: what is corrupt, and
// the unsquashfs command that checks the image.
void reply_error(fuse_req_t req, int err) {
  if (err == EIO && !g_corruption_reported) {
    g_corruption_reported = true;
    log::warn("{}", reader(req).first_corruption());
  }
  fuse_reply_err(req, err);
}

void no_open(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  count(FuseOp::open);
  fuse_reply_err(req, (fi->flags & O_ACCMODE) != O_RDONLY ? EROFS : ENOSYS);
}

void no_opendir(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  count(FuseOp::opendir);
  fuse_reply_err(req, ENOSYS);
}

void lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  count(FuseOp::lookup);
  fuse_entry_param entry{};
  entry.attr_timeout = entry.entry_timeout = kForever;
  SquashfsReader::Node child = 0;
  int err = reader(req).lookup(parent, name, child, entry.attr);
  // ENOENT as an entry with inode 0: a negative entry the kernel caches.
  if (err != 0 && err != ENOENT) return reply_error(req, err);
  entry.ino = err == ENOENT ? 0 : child;
  fuse_reply_entry(req, &entry);
}

void forget(fuse_req_t req, fuse_ino_t, uint64_t) {
  count(FuseOp::forget);
  fuse_reply_none(req);  // inode numbers are table positions: nothing to drop
}

void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  count(FuseOp::getattr);
  struct stat st {};
  if (int err = reader(req).getattr(ino, st); err != 0) return reply_error(req, err);
  fuse_reply_attr(req, &st, kForever);
}

void readlink(fuse_req_t req, fuse_ino_t ino) {
  count(FuseOp::readlink);
  std::string target;
  if (int err = reader(req).readlink(ino, target); err != 0) return reply_error(req, err);
  fuse_reply_readlink(req, target.c_str());
}

void read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info*) {
  count(FuseOp::read);
  std::vector<char> buffer(size);
  std::size_t got = 0;
  if (offset < 0) return reply_error(req, EINVAL);
  if (int err = reader(req).read(ino, static_cast<std::uint64_t>(offset), buffer, got); err != 0) {
    return reply_error(req, err);
  }
  fuse_reply_buf(req, buffer.data(), got);
}

void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info*) {
  count(FuseOp::readdir);
  std::vector<char> buffer(size);
  std::size_t used = 0;
  if (offset < 0) return reply_error(req, EINVAL);
  int err = reader(req).readdir(ino, static_cast<std::uint64_t>(offset),
                                [&](std::string_view name, SquashfsReader::Node node, mode_t type, std::uint64_t next) {
                                  struct stat st {};
                                  st.st_ino = node;
                                  st.st_mode = type;
                                  std::size_t need = fuse_add_direntry(req, buffer.data() + used, size - used,
                                                                       name.data(), &st, static_cast<off_t>(next));
                                  if (need > size - used) return false;
                                  used += need;
                                  return true;
                                });
  if (err != 0) return reply_error(req, err);
  fuse_reply_buf(req, buffer.data(), used);
}

void statfs(fuse_req_t req, fuse_ino_t) {
  count(FuseOp::statfs);
  struct statvfs st = reader(req).statfs();
  fuse_reply_statfs(req, &st);
}

// Both xattr calls: size 0 asks for the size, a smaller buffer is ERANGE.
void reply_xattr_data(fuse_req_t req, const std::string& data, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, data.size());
  } else if (data.size() > size) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, data.data(), data.size());
  }
}

void listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  count(FuseOp::xattr);
  std::string names;
  if (int err = reader(req).listxattr(ino, names); err != 0) return reply_error(req, err);
  reply_xattr_data(req, names, size);
}

void getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  count(FuseOp::xattr);
  std::string value;
  if (int err = reader(req).getxattr(ino, name, value); err != 0) return reply_error(req, err);
  reply_xattr_data(req, value, size);
}

// An image without an xattr table has none to give: ENOSYS makes the kernel
// stop asking (overlayfs asks about every lower file it looks up).
void no_xattr(fuse_req_t req, fuse_ino_t, const char*, size_t) {
  count(FuseOp::xattr);
  fuse_reply_err(req, ENOSYS);
}
void no_listxattr(fuse_req_t req, fuse_ino_t, size_t) {
  count(FuseOp::xattr);
  fuse_reply_err(req, ENOSYS);
}

void create(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) {
  count(FuseOp::other);
  fuse_reply_err(req, EROFS);
}

}  // namespace

std::string FuseRequestCounts::summary() const {
  static constexpr const char* names[] = {"lookup",  "forget",  "getattr", "readlink", "open", "read",
                                          "opendir", "readdir", "statfs",  "xattr",    "other"};
  std::string out;
  for (std::size_t i = 0; i < by_op.size(); ++i) {
    if (by_op[i] != 0) out += fmt::format("{}{}={}", out.empty() ? "" : " ", names[i], by_op[i]);
  }
  return out;
}

fuse_lowlevel_ops squashfs_operations(FuseRequestCounts& counts, bool image_has_xattrs) {
  g_counts = &counts;
  fuse_lowlevel_ops ops{};
  ops.lookup = lookup;
  ops.forget = forget;
  ops.getattr = getattr;
  ops.readlink = readlink;
  ops.open = no_open;
  ops.read = read;
  ops.opendir = no_opendir;
  ops.readdir = readdir;
  ops.statfs = statfs;
  ops.listxattr = image_has_xattrs ? listxattr : no_listxattr;
  ops.getxattr = image_has_xattrs ? getxattr : no_xattr;
  ops.create = create;
  return ops;
}

}  // namespace hl::image
