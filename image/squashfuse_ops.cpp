#include "image/squashfuse_ops.hpp"

#include <cerrno>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/strings.hpp"
#include "image/squashfs_reader.hpp"

namespace hl::image {
namespace {

// The image never changes under a mount: the kernel may cache everything
// for ever (libsquashfuse's choice too).
constexpr double kForever = std::numeric_limits<double>::max();

std::atomic<std::uint64_t> g_pool_generations{0};

ServeContext& context(fuse_req_t req) { return *static_cast<ServeContext*>(fuse_req_userdata(req)); }
SquashfsReader& reader(fuse_req_t req) { return context(req).readers.for_this_thread(); }
void count(fuse_req_t req, FuseOp op) { context(req).counts.add(op); }

// The first EIO is also said in the holder's output: what is corrupt, and
// the unsquashfs command that checks the image.
void reply_error(fuse_req_t req, int err) {
  if (err == EIO && !context(req).corruption_reported.exchange(true)) {
    log::warn("{}", reader(req).first_corruption());
  }
  fuse_reply_err(req, err);
}

void init(void*, fuse_conn_info* conn) {
  // readlink answers are kept in the page cache like file data.
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  // Lookups in one directory from several threads at once (libfuse's
  // default, said here because serving threads depend on it).
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
}

void no_open(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  count(req, FuseOp::open);
  fuse_reply_err(req, (fi->flags & O_ACCMODE) != O_RDONLY ? EROFS : ENOSYS);
}

void no_opendir(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  count(req, FuseOp::opendir);
  fuse_reply_err(req, ENOSYS);
}

void lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  count(req, FuseOp::lookup);
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
  count(req, FuseOp::forget);
  fuse_reply_none(req);  // inode numbers are table positions: nothing to drop
}

void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  count(req, FuseOp::getattr);
  struct stat st {};
  if (int err = reader(req).getattr(ino, st); err != 0) return reply_error(req, err);
  fuse_reply_attr(req, &st, kForever);
}

void readlink(fuse_req_t req, fuse_ino_t ino) {
  count(req, FuseOp::readlink);
  std::string target;
  if (int err = reader(req).readlink(ino, target); err != 0) return reply_error(req, err);
  fuse_reply_readlink(req, target.c_str());
}

void note_read(FuseRequestCounts& counts, std::size_t asked, std::size_t got) {
  counts.read_bytes.fetch_add(got, std::memory_order_relaxed);
  std::uint64_t largest = counts.largest_read.load(std::memory_order_relaxed);
  while (asked > largest && !counts.largest_read.compare_exchange_weak(largest, asked, std::memory_order_relaxed)) {
  }
}

void read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info*) {
  count(req, FuseOp::read);
  std::vector<char> buffer(size);
  std::size_t got = 0;
  if (offset < 0) return reply_error(req, EINVAL);
  if (int err = reader(req).read(ino, static_cast<std::uint64_t>(offset), buffer, got); err != 0) {
    return reply_error(req, err);
  }
  note_read(context(req).counts, size, got);
  fuse_reply_buf(req, buffer.data(), got);
}

// READDIR and READDIRPLUS: the same listing, the latter with each entry's
// attributes (the kernel then makes its dentry and needs no LOOKUP for it).
void list_directory(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, bool plus) {
  count(req, FuseOp::readdir);
  std::vector<char> buffer(size);
  std::size_t used = 0;
  if (offset < 0) return reply_error(req, EINVAL);
  SquashfsReader& files = reader(req);
  int err = files.readdir(
      ino, static_cast<std::uint64_t>(offset),
      [&](std::string_view name, SquashfsReader::Node node, mode_t type, std::uint64_t next) {
        char* at = buffer.data() + used;
        std::size_t need = 0;
        if (plus) {
          fuse_entry_param entry{};
          entry.attr_timeout = entry.entry_timeout = kForever;
          if (files.getattr(node, entry.attr) != 0) return false;  // met again by the LOOKUP, which reports it
          entry.ino = node;
          need = fuse_add_direntry_plus(req, at, size - used, name.data(), &entry, static_cast<off_t>(next));
        } else {
          struct stat st {};
          st.st_ino = node;
          st.st_mode = type;
          need = fuse_add_direntry(req, at, size - used, name.data(), &st, static_cast<off_t>(next));
        }
        if (need > size - used) return false;
        used += need;
        return true;
      });
  if (err != 0) return reply_error(req, err);
  fuse_reply_buf(req, buffer.data(), used);
}

void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info*) {
  list_directory(req, ino, size, offset, false);
}

void readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info*) {
  list_directory(req, ino, size, offset, true);
}

void statfs(fuse_req_t req, fuse_ino_t) {
  count(req, FuseOp::statfs);
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
  count(req, FuseOp::xattr);
  std::string names;
  if (int err = reader(req).listxattr(ino, names); err != 0) return reply_error(req, err);
  reply_xattr_data(req, names, size);
}

void getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  count(req, FuseOp::xattr);
  std::string value;
  if (int err = reader(req).getxattr(ino, name, value); err != 0) return reply_error(req, err);
  reply_xattr_data(req, value, size);
}

// An image without an xattr table has none to give: ENOSYS makes the kernel
// stop asking (overlayfs asks about every lower file it looks up).
void no_xattr(fuse_req_t req, fuse_ino_t, const char*, size_t) {
  count(req, FuseOp::xattr);
  fuse_reply_err(req, ENOSYS);
}
void no_listxattr(fuse_req_t req, fuse_ino_t, size_t) {
  count(req, FuseOp::xattr);
  fuse_reply_err(req, ENOSYS);
}

void create(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) {
  count(req, FuseOp::other);
  fuse_reply_err(req, EROFS);
}

}  // namespace

ReaderPool::ReaderPool(std::unique_ptr<SquashfsReader> first) : generation_(++g_pool_generations) {
  readers_.push_back(std::move(first));
}

void ReaderPool::reserve(int readers) {
  std::lock_guard lock(mutex_);
  while (readers_.size() < static_cast<std::size_t>(readers)) readers_.push_back(readers_.front()->another());
}

SquashfsReader& ReaderPool::for_this_thread() {
  struct Lease {
    std::uint64_t generation = 0;
    SquashfsReader* reader = nullptr;
  };
  thread_local Lease lease;
  if (lease.generation == generation_) return *lease.reader;
  std::lock_guard lock(mutex_);
  // More threads than reserved readers does not happen (libfuse starts at
  // most max_threads workers); should it, the thread makes its own.
  if (handed_out_ == readers_.size()) readers_.push_back(readers_.front()->another());
  lease = {generation_, readers_[handed_out_++].get()};
  return *lease.reader;
}

std::string FuseRequestCounts::summary() const {
  static constexpr const char* names[] = {"lookup",  "forget",  "getattr", "readlink", "open", "read",
                                          "opendir", "readdir", "statfs",  "xattr",    "other"};
  std::string out;
  for (std::size_t i = 0; i < by_op.size(); ++i) {
    std::uint64_t n = by_op[i].load(std::memory_order_relaxed);
    if (n != 0) out += fmt::format("{}{}={}", out.empty() ? "" : " ", names[i], n);
  }
  if (of(FuseOp::read) != 0) {
    out += fmt::format("; read {} (largest {})", human_bytes(read_bytes.load()), human_bytes(largest_read.load()));
  }
  return out;
}

fuse_lowlevel_ops squashfs_operations(bool image_has_xattrs) {
  fuse_lowlevel_ops ops{};
  ops.init = init;
  ops.lookup = lookup;
  ops.forget = forget;
  ops.getattr = getattr;
  ops.readlink = readlink;
  ops.open = no_open;
  ops.read = read;
  ops.opendir = no_opendir;
  ops.readdir = readdir;
  ops.readdirplus = readdirplus;
  ops.statfs = statfs;
  ops.listxattr = image_has_xattrs ? listxattr : no_listxattr;
  ops.getxattr = image_has_xattrs ? getxattr : no_xattr;
  ops.create = create;
  return ops;
}

}  // namespace hl::image
