#include "wireup/holder.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "common/strings.hpp"
#include "image/container.hpp"
#include "image/image_metadata.hpp"
#include "wireup/holder_protocol.hpp"
#include "wireup/join_server.hpp"
#include "wireup/node_setup.hpp"
#include "wireup/rendezvous_socket.hpp"

namespace hl::wireup {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kFailureLingerS = 10;
// After every joined rank exited, how long to wait for ranks that never came.
constexpr auto kMissingRanksGrace = std::chrono::seconds(10);

// Node 0 got the fd rank 0 opened; other nodes open and compare, no stat.
std::unique_ptr<image::Container> build_container(const LaunchSpec& launch, const image::ImageMetadata& image,
                                                  UniqueFd image_fd, const NodeFacts& facts) {
  if (!image_fd) image_fd = image::open_matching_image(image);
  return image::Container::build(std::move(image_fd), launch.container, facts.setup);
}

// Returns the exit code: 0 when every expected rank joined and exited.
// `container` is null when serving a build failure; `control` is -1 in
// companion mode (poll ignores negative fds).
int serve(image::Container* container, JoinServer& joins, int control, int signals, int join_timeout_s) {
  auto deadline = Clock::now() + std::chrono::seconds(join_timeout_s);
  while (!joins.finished()) {
    std::vector<pollfd> fds = {{container != nullptr ? container->server().fd() : -1, POLLIN, 0},
                               {joins.listener(), POLLIN, 0},
                               {control, POLLIN, 0},
                               {signals, POLLIN, 0}};
    joins.add_pollfds(fds);
    bool waiting_for_joins = joins.expected() == 0 || joins.joined() < joins.expected();
    int timeout_ms = -1;
    if (waiting_for_joins) {
      auto until = deadline;
      if (joins.all_joined_ranks_gone()) until = std::min(until, joins.last_exit() + kMissingRanksGrace);
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0) {
        log::error("only {} of {} local ranks joined (join timeout {} s, or the others were killed before joining)",
                   joins.joined(), joins.expected() > 0 ? fmt::to_string(joins.expected()) : "the expected",
                   join_timeout_s);
        return 1;
      }
      timeout_ms = static_cast<int>(left);
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (fds[0].revents & POLLIN) container->server().process_one();
    if (fds[1].revents & POLLIN) joins.accept_one();
    if (fds[2].revents & (POLLIN | POLLHUP)) return 0;  // released by the node step
    if (fds[3].revents & POLLIN) return 0;              // SIGTERM: the job is ending
    for (std::size_t i = 4; i < fds.size(); ++i) {
      if (fds[i].revents != 0) joins.handle(fds[i].fd);
    }
  }
  return 0;
}

// false when the starter is gone (EPIPE): nobody is left to tell.
template <typename Send>
bool tell_starter(Send&& send) {
  try {
    send();
    return true;
  } catch (const Error& e) {
    log::info("holder: the node step went away: {}", e.what());
    return false;
  }
}

}  // namespace

int run_holder() {
  UniqueFd control(kHolderControlFd);
  UniqueFd signals = block_termination_signals();
  log::set_origin(host_name());
  // Until "serve", the starter's death (its SIGTERM to us waits in the
  // signalfd) shows as EOF or EPIPE on the control socket: we exit quietly.
  auto request = receive_request(control.get());
  if (!request) return 1;
  const LaunchSpec& launch = request->launch;
  log::set_verbose(launch.verbose);
  NodeFacts facts;
  std::unique_ptr<image::Container> container;
  try {
    facts = discover_node_facts(launch);
    container = build_container(launch, request->image, std::move(request->image_fd), facts);
  } catch (const Error& e) {
    tell_starter([&] { send_failure(control.get(), e); });
    return e.exit_code();
  }
  if (!tell_starter([&] { send_ready(control.get()); })) return 1;
  // Ranks are let in only once every node has its container: a node step
  // that dies before that (Open MPI 4.1.4 crashes in MPI_Init now and then
  // under load) leaves no rank inside a container whose holder is gone, and
  // the front end can start the node step again.
  if (!await_serve(control.get())) return 0;
  JoinServer joins(listen_rendezvous(launch.join.socket_name));
  joins.serve_container(container.get(), launch, facts);
  int code = serve(container.get(), joins, control.get(), signals.get(), launch.join.timeout_s);
  log::info("FUSE requests served: {}", container->server().request_counts().summary());
  return code;
}

int run_companion_holder(UniqueFd listener, const LaunchSpec& launch) {
  UniqueFd signals = block_termination_signals();
  log::set_verbose(launch.verbose);
  log::set_origin(host_name());
  JoinServer joins(std::move(listener));
  int timeout_s = launch.join.timeout_s;
  NodeFacts facts;
  std::unique_ptr<image::Container> container;
  try {
    UniqueFd image_fd;
    // No node step, so no broadcast: one stat of the image per node.
    auto image = image::read_image_metadata(launch.container.image, &image_fd);
    facts = discover_node_facts(launch);
    container = build_container(launch, image, std::move(image_fd), facts);
    joins.serve_container(container.get(), launch, facts);
  } catch (const Error& e) {
    // Every task of this node asks; each gets the error, then we go.
    joins.serve_failure(e);
    timeout_s = std::min(timeout_s, kFailureLingerS);
  }
  return serve(container.get(), joins, -1, signals.get(), timeout_s);
}

}  // namespace hl::wireup
