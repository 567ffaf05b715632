#include "image/squashfuse_ops.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

extern "C" {
#include <squashfuse/ll.h>
}

namespace hl::image {
namespace {

FuseRequestCounts* g_counts = nullptr;  // the server is single-threaded

void count(FuseOp op) {
  if (g_counts != nullptr) ++g_counts->by_op[static_cast<std::size_t>(op)];
}

sqfs_ll* filesystem(fuse_req_t req) { return static_cast<sqfs_ll*>(fuse_req_userdata(req)); }

void no_open(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  count(FuseOp::open);
  fuse_reply_err(req, (fi->flags & O_ACCMODE) != O_RDONLY ? EROFS : ENOSYS);
}

void no_opendir(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  count(FuseOp::opendir);
  fuse_reply_err(req, ENOSYS);
}

void read_by_inode(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info*) {
  count(FuseOp::read);
  sqfs_inode inode;
  if (sqfs_ll_inode(filesystem(req), &inode, ino) != SQFS_OK) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  std::vector<char> buffer(size);
  sqfs_off_t got = static_cast<sqfs_off_t>(size);
  if (sqfs_read_range(&filesystem(req)->fs, &inode, offset, &got, buffer.data()) != SQFS_OK) {
    fuse_reply_err(req, EIO);
    return;
  }
  fuse_reply_buf(req, buffer.data(), static_cast<size_t>(got));
}

void readdir_by_inode(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info*) {
  count(FuseOp::readdir);
  sqfs_ll* ll = filesystem(req);
  sqfs_inode inode;
  if (sqfs_ll_inode(ll, &inode, ino) != SQFS_OK) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  if (!S_ISDIR(inode.base.mode)) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  sqfs_dir dir;
  if (sqfs_dir_open(&ll->fs, &inode, &dir, offset) != SQFS_OK) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  std::vector<char> buffer(size);
  std::size_t used = 0;
  sqfs_name name;
  sqfs_dir_entry entry;
  sqfs_dentry_init(&entry, name);
  sqfs_err err = SQFS_OK;
  while (sqfs_dir_next(&ll->fs, &dir, &entry, &err)) {
    struct stat st {};
    st.st_ino = ll->ino_fuse_num(ll, &entry);
    st.st_mode = sqfs_dentry_mode(&entry);
    std::size_t need = fuse_add_direntry(req, buffer.data() + used, size - used, sqfs_dentry_name(&entry), &st,
                                         static_cast<off_t>(sqfs_dentry_next_offset(&entry)));
    if (need > size - used) break;
    used += need;
  }
  if (err != SQFS_OK) {
    fuse_reply_err(req, EIO);
    return;
  }
  fuse_reply_buf(req, buffer.data(), used);
}

// Counting wrappers around libsquashfuse's own operations.
void lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  count(FuseOp::lookup);
  sqfs_ll_op_lookup(req, parent, name);
}
void forget(fuse_req_t req, fuse_ino_t ino, uint64_t n) {
  count(FuseOp::forget);
  sqfs_ll_op_forget(req, ino, n);
}
void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  count(FuseOp::getattr);
  sqfs_ll_op_getattr(req, ino, fi);
}
void readlink(fuse_req_t req, fuse_ino_t ino) {
  count(FuseOp::readlink);
  sqfs_ll_op_readlink(req, ino);
}
void statfs(fuse_req_t req, fuse_ino_t ino) {
  count(FuseOp::statfs);
  stfs_ll_op_statfs(req, ino);
}
void listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  count(FuseOp::xattr);
  sqfs_ll_op_listxattr(req, ino, size);
}
void getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  count(FuseOp::xattr);
  sqfs_ll_op_getxattr(req, ino, name, size);
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
void create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  count(FuseOp::other);
  sqfs_ll_op_create(req, parent, name, mode, fi);
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
  ops.read = read_by_inode;
  ops.opendir = no_opendir;
  ops.readdir = readdir_by_inode;
  ops.statfs = statfs;
  ops.listxattr = image_has_xattrs ? listxattr : no_listxattr;
  ops.getxattr = image_has_xattrs ? getxattr : no_xattr;
  ops.create = create;
  return ops;
}

}  // namespace hl::image
