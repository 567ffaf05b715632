#pragma once
// The FUSE low-level operations the holder serves, answered by a
// SquashfsReader (image/squashfs_reader.hpp), which reads the image through
// libsquashfuse with every input bounded. open/opendir are answered ENOSYS,
// so the kernel stops sending OPEN, RELEASE, OPENDIR and RELEASEDIR round
// trips (a dlopen storm makes thousands) and keeps every file's page cache
// and every directory's listing across opens (FOPEN_KEEP_CACHE and
// FOPEN_CACHE_DIR are what the kernel assumes without an open); read and
// readdir find the inode by number instead of a handle. Fewer round trips
// still: symlink targets cached by the kernel (FUSE_CAP_CACHE_SYMLINKS), and
// READDIRPLUS (a listing brings every entry's attributes, so the lookups
// that follow it need no request). Each request is counted, for `-v` and
// the benchmarks.
//
// Not done: pushing a small file into the page cache with its lookup
// (fuse_lowlevel_notify_store) to spare its first READ. The kernel makes the
// inode in the looking-up task once our reply wakes it, so a store sent
// right after the reply finds no inode (ENOENT): 2 of 1000 landed in a
// dlopen storm.
//
// Several threads may serve one session (libfuse's multi-threaded loop):
// libsquashfuse 0.1.105 is not thread-safe, so each thread answers from a
// reader of its own on the same image fd (ReaderPool), and the counts are atomic.
// 3.12: fuse_session_loop_mt with a fuse_loop_config (max threads, clone_fd).
#define FUSE_USE_VERSION 312
#include <fuse3/fuse_lowlevel.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "image/squashfs_reader.hpp"

namespace hl::image {

enum class FuseOp { lookup, forget, getattr, readlink, open, read, opendir, readdir, statfs, xattr, other, count };

struct FuseRequestCounts {
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(FuseOp::count)> by_op{};
  std::atomic<std::uint64_t> read_bytes{0};    // answered to READ requests
  std::atomic<std::uint64_t> largest_read{0};  // the largest READ the kernel asked for

  void add(FuseOp op) { by_op[static_cast<std::size_t>(op)].fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t of(FuseOp op) const { return by_op[static_cast<std::size_t>(op)].load(std::memory_order_relaxed); }
  // "lookup=12 getattr=3 read=40 ..." (the ops that had requests), then
  // what was read: "; read 1.2 MB (largest 131.1 KB)".
  std::string summary() const;
};

// One reader per serving thread, all on the same image fd. The thread that
// asks first (the holder's, serving while the container is built) gets the
// first reader; each serving thread gets one of those made by reserve().
class ReaderPool {
 public:
  explicit ReaderPool(std::unique_ptr<SquashfsReader> first);
  // Makes readers up front, before any serving thread exists: making one
  // reads the image, which a FUSE request handler should not have to do.
  void reserve(int readers);
  SquashfsReader& for_this_thread();
  const SquashfsReader& first() const { return *readers_.front(); }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<SquashfsReader>> readers_;
  std::size_t handed_out_ = 0;
  std::uint64_t generation_;  // tells a thread's cached lease from one of an older pool
};

// Everything the operations use: the session's userdata.
struct ServeContext {
  explicit ServeContext(std::unique_ptr<SquashfsReader> first) : readers(std::move(first)) {}
  ReaderPool readers;
  FuseRequestCounts counts;
  std::atomic<bool> corruption_reported{false};
};

fuse_lowlevel_ops squashfs_operations(bool image_has_xattrs);

}  // namespace hl::image
