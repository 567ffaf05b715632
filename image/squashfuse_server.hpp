#pragma once
// The image served over FUSE inside the holder process, read by
// SquashfsReaders (libsquashfuse with bounded inputs). Until serve_in_threads
// the caller's own poll loop processes one request at a time (fd() is
// pollable): the container is built that way, from a process that must stay
// single-threaded because it forks the build child. Afterwards libfuse's
// multi-threaded loop serves: up to N worker threads (started as requests
// need them), each answering from a reader of its own (libsquashfuse
// 0.1.105 is not thread-safe), on the session's /dev/fuse fd or on a clone
// of it each (FUSE_DEV_IOC_CLONE).
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "common/unique_fd.hpp"
#include "image/squashfs_reader.hpp"
#include "image/squashfuse_ops.hpp"

struct fuse_session;

namespace hl::image {

struct FuseThreads {
  int count = 1;          // 1: the caller's loop keeps calling process_one
  bool clone_fd = false;  // each worker its own /dev/fuse fd
};

class SquashfsServer {
 public:
  // Takes the image fd (already checked against rank 0's metadata) and the
  // opened /dev/fuse; mounts at `mountpoint` read-only with our own mount(2)
  // so no setuid fusermount is involved. A corrupt image throws hl::Error
  // (naming the unsquashfs command that checks it) before anything is mounted.
  // `image_offset`: where the squashfs starts in the file (a SIF's partition).
  SquashfsServer(UniqueFd image_fd, std::uint64_t image_size, UniqueFd fuse_dev, const std::string& mountpoint,
                 const std::string& image_path, std::uint64_t image_offset = 0);
  ~SquashfsServer();  // stops the serving threads first
  SquashfsServer(const SquashfsServer&) = delete;
  SquashfsServer& operator=(const SquashfsServer&) = delete;

  int fd() const;
  // Reads and answers one request; false when the kernel ended the session.
  // Only while no threads serve.
  bool process_one();
  // From now on threads serve (when threads.count > 1; otherwise nothing
  // changes). Call once the process may have threads: the container is built.
  void serve_in_threads(const FuseThreads& threads);
  bool threaded() const { return dispatcher_.joinable(); }

  const FuseRequestCounts& request_counts() const { return context_->counts; }
  const FuseThreads& threads() const { return threads_; }
  // What the library read from the image file so far (data and metadata).
  std::uint64_t image_bytes_read() const;

 private:
  void stop_threads();

  UniqueFd image_fd_;
  std::unique_ptr<ServeContext> context_;
  fuse_session* session_ = nullptr;
  void* buffer_ = nullptr;
  FuseThreads threads_;
  std::thread dispatcher_;  // runs libfuse's loop, which starts the workers
  std::atomic<bool> loop_done_{false};
};

// Opens /dev/fuse; a permission problem gets the error that names the fix.
UniqueFd open_fuse_device();

}  // namespace hl::image
