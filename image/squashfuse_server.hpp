#pragma once
// The image served over FUSE inside the holder process, read by a
// SquashfsReader (libsquashfuse with bounded inputs). The library is not
// thread-safe, so requests are processed one at a time from the holder's own
// poll loop (fd() is pollable) — no FUSE threads.
#include <memory>
#include <string>

#include "common/unique_fd.hpp"
#include "image/squashfs_reader.hpp"
#include "image/squashfuse_ops.hpp"

struct fuse_session;

namespace hl::image {

class SquashfsServer {
 public:
  // Takes the image fd (already checked against rank 0's metadata) and the
  // opened /dev/fuse; mounts at `mountpoint` read-only with our own mount(2)
  // so no setuid fusermount is involved. A corrupt image throws hl::Error
  // (naming the unsquashfs command that checks it) before anything is mounted.
  // `image_offset`: where the squashfs starts in the file (a SIF's partition).
  SquashfsServer(UniqueFd image_fd, std::uint64_t image_size, UniqueFd fuse_dev, const std::string& mountpoint,
                 const std::string& image_path, std::uint64_t image_offset = 0);
  ~SquashfsServer();
  SquashfsServer(const SquashfsServer&) = delete;
  SquashfsServer& operator=(const SquashfsServer&) = delete;

  int fd() const;
  const FuseRequestCounts& request_counts() const { return counts_; }
  // Reads and answers one request; false when the kernel ended the session.
  bool process_one();

 private:
  UniqueFd image_fd_;
  std::unique_ptr<SquashfsReader> reader_;
  fuse_session* session_ = nullptr;
  void* buffer_ = nullptr;
  FuseRequestCounts counts_;
};

// Opens /dev/fuse; a permission problem gets the error that names the fix.
UniqueFd open_fuse_device();

}  // namespace hl::image
