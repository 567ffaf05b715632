// The node step, one MPI rank per node: rank 0 stats the image and reads its
// superblock once and broadcasts them; every rank starts its node's holder —
// a separate process, since after MPI_Init we are multi-threaded and
// unshare(CLONE_NEWUSER) would fail.
#include "wireup/node_step.hpp"

#include <mpi.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <optional>
#include <cstring>
#include <string>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "common/message_socket.hpp"
#include "common/private_dir.hpp"
#include "common/self_path.hpp"
#include "common/strings.hpp"
#include "image/image_metadata.hpp"
#include "wireup/holder_protocol.hpp"

namespace hl::wireup {
namespace {

// Rank 0 reads; everyone receives the same JSON (metadata or the error).
nlohmann::json broadcast_image_metadata(int rank, const std::string& path, UniqueFd& image_fd) {
  std::string payload;
  if (rank == 0) {
    try {
      payload = nlohmann::json{{"image", image::read_image_metadata(path, &image_fd)}}.dump();
    } catch (const Error& e) {
      payload = error_to_json(e).dump();
    }
  }
  int length = static_cast<int>(payload.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  payload.resize(static_cast<std::size_t>(length));
  MPI_Bcast(payload.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
  return decode_json<nlohmann::json>(payload, "image broadcast");
}

// SIGTERM, SIGINT, SIGHUP: while MPI runs, their default action (srun or
// scancel wants us gone, and a rank stuck in MPI_Init because its peer
// crashed must not wait for SIGKILL); after "serve", a byte on a pipe that
// wait_for_holder turns into SIGTERM for the holder, which stops its ranks'
// container cleanly. A handler, not a signal mask: masks are per thread, and
// a thread MPI leaves behind would take the default action.
std::atomic<bool> g_forward_signals{false};
int g_signal_pipe = -1;  // write end, open for the life of the process

extern "C" void on_termination_signal(int sig) {
  if (!g_forward_signals.load()) {
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return;
  }
  auto byte = static_cast<unsigned char>(sig);
  ssize_t ignored = ::write(g_signal_pipe, &byte, 1);
  (void)ignored;
}

UniqueFd install_termination_handler() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw_errno("pipe2");
  g_signal_pipe = fds[1];
  struct sigaction action {};
  action.sa_handler = on_termination_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::sigaction(sig, &action, nullptr);
  return UniqueFd(fds[0]);
}

// A holder killed by a signal: libsquashfuse crashes on some corrupt images
// (it trusts their tables), so name the image and how to check it.
Error holder_death(int code, const std::string& image) {
  return Error(fmt::format("the container holder died ({}) while serving image `{}`", describe_exit(code), image),
               fmt::format("the image may be corrupt: check it with `unsquashfs -s {0}` and `unsquashfs -l {0}`", image));
}

// Waits for the holder; a termination signal is passed on to it. A holder
// killed by a signal is an error of ours, reported as an exit status: the
// front end restarts only node steps that died by a signal, before "serve".
int wait_for_holder(ChildProcess& holder, int signals, const std::string& image) {
  while (true) {
    pollfd fds[2] = {{holder.pidfd(), POLLIN, 0}, {signals, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return 1;
    if (fds[1].revents & POLLIN) {
      unsigned char byte = 0;
      while (::read(signals, &byte, 1) > 0) holder.signal(SIGTERM);
    }
    if (fds[0].revents & POLLIN) {
      int code = holder.wait();
      if (!killed_by_signal(code)) return code;
      log::error("{}", holder_death(code, image).describe());
      return 1;
    }
  }
}

}  // namespace

int run_node_step(const LaunchSpec& spec) {
  log::set_verbose(spec.verbose);
  log::set_origin(host_name());
  UniqueFd signals = install_termination_handler();
  auto [control, holder_end] = message_socket_pair();
  SpawnOptions options;
  options.fd_map = {{holder_end.get(), kHolderControlFd}};
  options.parent_death_signal = SIGTERM;
  ChildProcess holder = ChildProcess::spawn({self_path(), "holder"}, options);
  holder_end.reset();

  MPI_Init(nullptr, nullptr);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  UniqueFd image_fd;
  auto metadata = broadcast_image_metadata(rank, spec.container.image, image_fd);
  std::optional<Error> error;
  if (is_error_json(metadata)) {
    if (rank == 0) error = error_from_json(metadata);
  } else {
    try {
      auto image = metadata.at("image").get<image::ImageMetadata>();
      send_request(control.get(), HolderRequest{spec, image, std::move(image_fd)});
      await_ready(control.get());
    } catch (const Error& e) {
      auto code = holder.wait_for(1000);  // died while building?
      error = code && killed_by_signal(*code) ? holder_death(*code, spec.container.image) : e;
    } catch (const nlohmann::json::exception& e) {
      error = Error(fmt::format("malformed image broadcast: {}", e.what()));
    }
  }
  int ok = !error && !is_error_json(metadata) ? 1 : 0;
  int all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  // Finalize before the holder lets ranks in: from here on nothing of MPI
  // can crash under them.
  MPI_Finalize();
  if (error) log::error("{}", error->describe());
  if (!all_ok) return error ? error->exit_code() : 1;  // ~ChildProcess stops our holder
  g_forward_signals = true;
  send_serve(control.get(), true);
  // The front end learns from this line that ranks may now be inside
  // containers: a node step that dies from here on is not started again.
  if (rank == 0) log::write_line("", fmt::format("{} {} node(s)", kContainersReadyLine, size));
  int code = wait_for_holder(holder, signals.get(), spec.container.image);
  // A holder that died left its directory behind: its owner lock is free now.
  open_runtime_dir(environment_of_this_process()).sweep_stale(spec.join.rendezvous_group);
  return code;
}

}  // namespace hl::wireup
