#define FUSE_USE_VERSION 32
#include "image/squashfuse_server.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <fuse3/fuse_lowlevel.h>

#include "common/error.hpp"
#include "image/squashfuse_ops.hpp"

namespace hl::image {

UniqueFd open_fuse_device() {
  UniqueFd fd(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
  if (!fd) throw_errno("cannot open", "/dev/fuse");
  return fd;
}

SquashfsServer::SquashfsServer(UniqueFd image_fd, std::uint64_t image_size, UniqueFd fuse_dev,
                               const std::string& mountpoint, const std::string& image_path, std::uint64_t image_offset)
    : image_fd_(std::move(image_fd)),
      reader_(std::make_unique<SquashfsReader>(image_fd_.get(), image_path, image_size, image_offset)) {
  auto options = fmt::format("fd={},rootmode=40000,user_id={},group_id={}", fuse_dev.get(), ::getuid(), ::getgid());
  if (::mount("squashfuse", mountpoint.c_str(), "fuse.squashfuse", MS_NOSUID | MS_NODEV | MS_RDONLY, options.c_str()) !=
      0) {
    throw_errno("mount squashfuse at", mountpoint);
  }
  char arg0[] = "hpclaunch";
  char* argv[] = {arg0, nullptr};
  fuse_args args = FUSE_ARGS_INIT(1, argv);
  auto ops = squashfs_operations(counts_, reader_->has_xattrs());
  session_ = fuse_session_new(&args, &ops, sizeof ops, reader_.get());
  // "/dev/fd/N" tells libfuse the file system is already mounted on fd N.
  auto fd_path = fmt::format("/dev/fd/{}", fuse_dev.get());
  if (session_ == nullptr || fuse_session_mount(session_, fd_path.c_str()) != 0) {
    if (session_ != nullptr) fuse_session_destroy(session_);
    session_ = nullptr;
    throw Error("libfuse: cannot start a session on /dev/fuse");
  }
  fuse_dev.release();  // the session owns it now and closes it on destroy
}

SquashfsServer::~SquashfsServer() {
  std::free(buffer_);
  if (session_ != nullptr) fuse_session_destroy(session_);
}

int SquashfsServer::fd() const { return fuse_session_fd(session_); }

bool SquashfsServer::process_one() {
  fuse_buf buf{};
  buf.mem = buffer_;
  int n = fuse_session_receive_buf(session_, &buf);
  buffer_ = buf.mem;  // libfuse allocates bufsize bytes on first use; reuse it
  if (n == -EINTR || n == -EAGAIN) return true;
  if (n <= 0) return false;
  fuse_session_process_buf(session_, &buf);
  return !fuse_session_exited(session_);
}

}  // namespace hl::image
