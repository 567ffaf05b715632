#include "image/squashfuse_server.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <fuse3/fuse_lowlevel.h>

#include "common/error.hpp"
#include "common/log.hpp"
#include "image/squashfs_image.hpp"

namespace hl::image {
namespace {

// Wakes the thread running libfuse's loop: it waits in sem_wait, which a
// signal handler interrupts (whatever SA_RESTART says); it then sees the
// session exited and cancels its workers.
constexpr int kWakeSignal = SIGUSR1;
extern "C" void on_wake_signal(int) {}

void install_wake_handler() {
  struct sigaction action {};
  action.sa_handler = on_wake_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(kWakeSignal, &action, nullptr);
}

}  // namespace

UniqueFd open_fuse_device() {
  UniqueFd fd(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
  if (!fd) throw_errno("cannot open", "/dev/fuse");
  return fd;
}

SquashfsServer::SquashfsServer(UniqueFd image_fd, std::uint64_t image_size, UniqueFd fuse_dev,
                               const std::string& mountpoint, const std::string& image_path, std::uint64_t image_offset)
    : image_fd_(std::move(image_fd)),
      context_(std::make_unique<ServeContext>(
          std::make_unique<SquashfsReader>(image_fd_.get(), image_path, image_size, image_offset))) {
  auto options = fmt::format("fd={},rootmode=40000,user_id={},group_id={}", fuse_dev.get(), ::getuid(), ::getgid());
  if (::mount("squashfuse", mountpoint.c_str(), "fuse.squashfuse", MS_NOSUID | MS_NODEV | MS_RDONLY, options.c_str()) !=
      0) {
    throw_errno("mount squashfuse at", mountpoint);
  }
  char arg0[] = "hpclaunch";
  char* argv[] = {arg0, nullptr};
  fuse_args args = FUSE_ARGS_INIT(1, argv);
  auto ops = squashfs_operations(context_->readers.first().has_xattrs());
  session_ = fuse_session_new(&args, &ops, sizeof ops, context_.get());
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
  stop_threads();
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

void SquashfsServer::serve_in_threads(const FuseThreads& threads) {
  if (threads.count <= 1 || threaded()) return;
  threads_ = threads;
  context_->readers.reserve(threads.count + 1);  // the first stays with the thread that served the build
  install_wake_handler();
  dispatcher_ = std::thread([this] {
    fuse_loop_config* config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(config, static_cast<unsigned>(threads_.count));
    fuse_loop_cfg_set_clone_fd(config, threads_.clone_fd ? 1 : 0);
    int rc = fuse_session_loop_mt(session_, config);
    fuse_loop_cfg_destroy(config);
    if (rc != 0 && !fuse_session_exited(session_)) log::warn("FUSE serving threads stopped: error {}", rc);
    loop_done_ = true;
  });
}

void SquashfsServer::stop_threads() {
  if (!threaded()) return;
  fuse_session_exit(session_);
  // The signal may come before the loop waits: send it until it is done.
  while (!loop_done_.load()) {
    ::pthread_kill(dispatcher_.native_handle(), kWakeSignal);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  dispatcher_.join();
}

std::uint64_t SquashfsServer::image_bytes_read() const { return squashfs::bytes_read_by_library(); }

}  // namespace hl::image
