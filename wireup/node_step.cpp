// The node step, one task per node, bootstrapped through PMIx: rank 0 opens
// and stats the image once and publishes its identity; every rank has its
// node's holder build the container (the holder is started first, so its
// work overlaps PMIx_Init); a second fence carries each node's status, so a
// failure on one node reaches all; the holders let ranks in only then.
#include "wireup/node_step.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "common/child_process.hpp"
#include "common/env.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "common/message_socket.hpp"
#include "common/private_dir.hpp"
#include "common/self_path.hpp"
#include "common/strings.hpp"
#include "image/image_metadata.hpp"
#include "wireup/holder_protocol.hpp"
#include "wireup/pmix_client.hpp"

namespace hl::wireup {
namespace {

constexpr const char* kStatusKey = "hpclaunch.status";  // every rank: its container, ready or the error

// A fence normally takes milliseconds; the first one also waits for the
// slowest node step to start, which grows with the node count.
std::chrono::milliseconds fence_timeout(const LaunchSpec& spec, int nodes) {
  if (spec.fence_timeout_s > 0) return std::chrono::seconds(spec.fence_timeout_s);
  return std::chrono::seconds(10) + std::chrono::milliseconds(20) * nodes;
}

// What the front end read of the image (its one stat per job).
image::ImageMetadata image_identity_from_environment() {
  std::string text = env_value(environment_of_this_process(), kImageIdentityVariable);
  if (text.empty())
    throw Error("hpclaunch-node step is internal: started by `hpclaunch run`", "run hpclaunch instead", 2);
  try {
    return decode_json<nlohmann::json>(text, "image identity").get<image::ImageMetadata>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("malformed image identity from the front end: {}", e.what()));
  }
}

// Every rank's status after the fence: true when all are ready.
bool every_node_ready(PmixClient& pmix, const std::optional<Error>& mine, std::chrono::milliseconds timeout) {
  pmix.put(kStatusKey, mine ? error_to_json(*mine).dump() : R"({"ready":true})");
  pmix.fence(timeout);
  bool all = true;
  for (int rank = 0; rank < pmix.size(); ++rank) {
    auto status = decode_json<nlohmann::json>(pmix.get(rank, kStatusKey), "node status");
    if (is_error_json(status)) all = false;
  }
  return all;
}

// SIGTERM, SIGINT, SIGHUP: while PMIx runs, their default action (srun or
// scancel wants us gone, and a rank stuck in a fence because its peer
// crashed must not wait for SIGKILL); after "serve", a byte on a pipe that
// wait_for_holder turns into SIGTERM for the holder, which stops its ranks
// cleanly. A handler, not a signal mask: masks are per thread, and a thread
// PMIx leaves behind would take the default action.
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
  return Error(
      fmt::format("the container holder died ({}) while serving image `{}`", describe_exit(code), image),
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

// The serve gate (holder_protocol.hpp): our line, then the front end's "go"
// on stdin. A termination signal meanwhile takes its default action (we
// have not served). Its own deadline: the front end that never says go
// (a node's line lost) must not keep us, and the ranks, waiting.
bool await_go(int rank, int size, std::chrono::milliseconds timeout) {
  std::string line = fmt::format("{} {} {}\n", kNodeReadyLine, rank, size);
  if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string input;
  while (input.find(std::string(kGoLine) + "\n") == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      log::error(
          "the front end did not confirm every node within {} s (its node-ready lines lost?); hpclaunch starts "
          "the node step again",
          timeout.count() / 1000);
      return false;
    }
    pollfd fd{STDIN_FILENO, POLLIN, 0};
    int ready = ::poll(&fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buffer[256];
    ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      log::error("the front end closed the node step's input before every node was ready");
      return false;
    }
    input.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

// This node's container, from the identity node 0 shared; its error if any.
std::optional<Error> build_here(const LaunchSpec& spec, const image::ImageMetadata& image, int control,
                                ChildProcess& holder) {
  try {
    send_request(control, HolderRequest{spec, image, UniqueFd()});  // the holder opens and compares
    await_ready(control);
    return std::nullopt;
  } catch (const Error& e) {
    auto code = holder.wait_for(1000);  // died while building?
    return code && killed_by_signal(*code) ? holder_death(*code, spec.container.image) : e;
  }
}

}  // namespace

int run_node_step(const LaunchSpec& spec) {
  log::set_verbose(spec.verbose);
  log::set_origin(host_name());
  image::ImageMetadata image = image_identity_from_environment();
  // The holder first: it starts (exec, namespaces, node facts) while PMIx
  // initializes, and it must be single-threaded, which we are not after.
  auto [control, holder_end] = message_socket_pair();
  SpawnOptions options;
  options.fd_map = {{holder_end.get(), kHolderControlFd}};
  options.parent_death_signal = SIGTERM;
  ChildProcess holder = ChildProcess::spawn({self_path(), "holder"}, options);
  holder_end.reset();
  UniqueFd signals = install_termination_handler();

  PmixClient pmix = PmixClient::init();
  // The container first, then the job's only fence: "every node has its
  // container" (a per-node status, so one node's failure reaches all).
  std::optional<Error> error = build_here(spec, image, control.get(), holder);
  auto timeout = fence_timeout(spec, pmix.size());
  bool all_ready = every_node_ready(pmix, error, timeout);
  int size = pmix.size();
  int rank = pmix.rank();
  bool first = rank == 0;
  // Finalized before the holders let ranks in: from here on nothing of the
  // node step's runtime can fail under them.
  pmix.finalize();
  if (error) log::error("{}", error->describe());
  if (!all_ready) return error ? error->exit_code() : 1;  // ~ChildProcess stops our holder
  bool gated = env_value(environment_of_this_process(), kServeGateVariable) == "stdin";
  if (gated && !await_go(rank, size, timeout)) return 1;
  g_forward_signals = true;
  // An unnamed launch's holders outlive a dying node step (their ranks run
  // on); a named container's go with it: its node step is its life line
  // (Slurm ends it with the job).
  send_serve(control.get(), spec.named.name.empty());
  // The front end learns from this line that ranks may now be inside
  // containers: a node step that dies from here on is not started again.
  if (first) log::write_line("", fmt::format("{} {} node(s)", kContainersReadyLine, size));
  int code = wait_for_holder(holder, signals.get(), spec.container.image);
  // A holder that died left its directory behind: its owner lock is free now.
  open_runtime_dir(environment_of_this_process()).sweep_stale(spec.join.rendezvous_group);
  return code;
}

}  // namespace hl::wireup
