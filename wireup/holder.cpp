#include "wireup/holder.hpp"

#include <poll.h>
#include <pwd.h>
#include <grp.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/message_socket.hpp"
#include "common/signals.hpp"
#include "common/strings.hpp"
#include "devices/binding_plan.hpp"
#include "devices/binding_render.hpp"
#include "devices/device_nodes.hpp"
#include "devices/topology.hpp"
#include "image/container.hpp"
#include "wireup/holder_config.hpp"
#include "wireup/join_protocol.hpp"
#include "wireup/node_spec.hpp"
#include "wireup/rendezvous_socket.hpp"

namespace hl::wireup {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kFailureLingerS = 10;
// After every joined rank exited, how long to wait for ranks that never came.
constexpr auto kMissingRanksGrace = std::chrono::seconds(10);

image::UserEntry current_user() {
  image::UserEntry u;
  u.uid = ::getuid();
  u.gid = ::getgid();
  u.name = fmt::format("user{}", u.uid);
  u.group_name = fmt::format("group{}", u.gid);
  u.home = "/";
  if (const passwd* pw = ::getpwuid(u.uid)) {
    u.name = pw->pw_name;
    u.gecos = pw->pw_gecos != nullptr ? pw->pw_gecos : "";
    u.home = pw->pw_dir;
  }
  if (const group* gr = ::getgrgid(u.gid)) u.group_name = gr->gr_name;
  return u;
}

// Answers join requests: the namespace fds, or — when the container could
// not be built (companion mode has no node step to report it) — the error.
class JoinServer {
 public:
  explicit JoinServer(UniqueFd listener) : listener_(std::move(listener)) {}

  void serve_container(image::Container* c, const HolderConfig& config) {
    container_ = c;
    config_ = &config;
  }
  void serve_failure(const Error& e) { failure_ = e; }

  int listener() const { return listener_.get(); }
  bool finished() const { return expected_ > 0 && joined_ >= expected_ && ranks_.empty(); }
  // Ranks joined, and all of them are gone: the job is ending or the missing
  // ones were killed before they could join (scancel, a failed task).
  bool all_joined_ranks_gone() const { return joined_ > 0 && ranks_.empty(); }
  Clock::time_point last_exit() const { return last_exit_; }
  int joined() const { return joined_; }
  int expected() const { return expected_; }

  void add_pollfds(std::vector<pollfd>& fds) const {
    for (const auto& [fd, _] : pending_) fds.push_back({fd, POLLIN, 0});
    for (const auto& [fd, _] : ranks_) fds.push_back({fd, POLLIN, 0});
  }

  void accept_one() {
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return;
    if (peer_credentials(conn.get()).uid != ::getuid()) return;  // not our user: drop
    int fd = conn.get();
    pending_.emplace(fd, std::move(conn));
  }

  void handle(int fd) {
    if (auto it = ranks_.find(fd); it != ranks_.end()) {
      ranks_.erase(it);  // pidfd readable: that rank exited
      last_exit_ = Clock::now();
      return;
    }
    auto it = pending_.find(fd);
    if (it == pending_.end()) return;
    UniqueFd conn = std::move(it->second);
    pending_.erase(it);
    try {
      answer(conn.get());
    } catch (const Error& e) {
      log::warn("join: {}", e.what());
    }
  }

 private:
  void answer(int conn) {
    auto message = receive_message(conn);
    if (!message) return;
    JoinRequest request = decode_request(message->payload);
    if (request.local_size > 0 && expected_ == 0) expected_ = request.local_size;
    ++joined_;
    if (failure_) {
      JoinReply reply{false, failure_->what(), failure_->hint(), {}, failure_->exit_code()};
      send_message(conn, encode(reply));
      return;
    }
    // The pid comes from the kernel, not the message: the rank is this process.
    PeerCredentials peer = peer_credentials(conn);
    UniqueFd pidfd = open_pidfd(peer.pid);
    if (!pidfd) throw_errno("pidfd_open joiner");
    JoinReply reply{true,
                    "",
                    "",
                    container_->image_environment(),
                    0,
                    binding_for(request),
                    config_->library_dirs,
                    config_->bin_dirs};
    int fds[2] = {container_->user_namespace_fd(), container_->mount_namespace_fd()};
    send_message(conn, encode(reply), fds);
    log::info("rank {} (local {}) joined, {}/{}", request.rank, request.local_rank, joined_, expected_);
    int key = pidfd.get();
    ranks_.emplace(key, std::move(pidfd));
  }

  // The node's plan for its local ranks, made once (per distinct cpuset the
  // ranks bring: normally one per step) from the host topology.
  std::string binding_for(const JoinRequest& request) {
    auto policy = devices::parse_bind_policy(config_->bind);
    auto gpus = devices::parse_gpu_selection(config_->gpus);
    if ((policy == devices::BindPolicy::none && gpus != devices::GpuSelection::per_rank) || request.local_rank < 0) {
      return {};
    }
    std::string key = fmt::format("{}|{}|{}", request.allowed_cpus, request.local_size, request.cuda_visible_devices);
    auto it = plans_.find(key);
    if (it == plans_.end()) {
      if (!topology_) topology_ = devices::Topology::load_system().describe();
      devices::PlanRequest plan_request;
      plan_request.allowed = devices::parse_cpu_list(request.allowed_cpus);
      plan_request.local_ranks = std::max({request.local_size, request.local_rank + 1, 1});
      plan_request.cpus_per_rank = config_->cpus_per_rank;
      plan_request.policy = policy;
      plan_request.gpus = gpus;
      if (!request.cuda_visible_devices.empty()) plan_request.cuda_visible_devices = request.cuda_visible_devices;
      it = plans_.emplace(key, devices::plan_bindings(*topology_, plan_request)).first;
      for (const auto& w : it->second.warnings) log::warn("{}", w);
    }
    const auto& ranks = it->second.ranks;
    if (static_cast<std::size_t>(request.local_rank) >= ranks.size()) return {};
    return devices::rank_binding_to_json(ranks[static_cast<std::size_t>(request.local_rank)]).dump();
  }

  UniqueFd listener_;
  image::Container* container_ = nullptr;
  const HolderConfig* config_ = nullptr;
  std::optional<devices::TopologyInfo> topology_;
  std::map<std::string, devices::BindingPlan> plans_;
  std::optional<Error> failure_;
  std::map<int, UniqueFd> pending_;  // connections waiting for their request
  std::map<int, UniqueFd> ranks_;    // pidfds of joined ranks still running
  int expected_ = 0;
  int joined_ = 0;
  Clock::time_point last_exit_{};
};

// nullopt: the node step went away first (it failed or was stopped; it
// says why itself).
std::optional<HolderConfig> read_config(int control, UniqueFd& image_fd) {
  auto message = receive_message(control);
  if (!message) return std::nullopt;
  if (!message->fds.empty()) image_fd = std::move(message->fds[0]);
  return nlohmann::json::parse(message->payload).get<HolderConfig>();
}

// false when the node step is gone (EPIPE): nobody is left to tell.
bool tell_node_step(int control, const nlohmann::json& message) {
  try {
    send_message(control, message.dump());
    return true;
  } catch (const Error& e) {
    log::info("holder: the node step went away: {}", e.what());
    return false;
  }
}

std::unique_ptr<image::Container> build_container(const HolderConfig& config, UniqueFd image_fd) {
  // Node 0 got the fd rank 0 opened; other nodes open and compare, no stat.
  if (!image_fd) image_fd = image::open_matching_image(config.image);
  image::ContainerConfig cc;
  cc.staging_parent = config.staging_parent;
  cc.program = config.program;
  cc.workdir = config.workdir;
  cc.fallback_path = config.host_path;
  cc.rootfs.mounts = config.mounts;
  cc.rootfs.device_nodes = devices::minimal_device_nodes();
  cc.rootfs.user = current_user();
  return image::Container::build(std::move(image_fd), config.image.path, cc);
}

// Returns the exit code: 0 when every expected rank joined and exited.
// `container` is null when serving a build failure; `control` is -1 in
// companion mode (poll ignores negative fds).
int serve(image::Container* container, JoinServer& joins, int control, int signals, const HolderConfig& config) {
  auto deadline = Clock::now() + std::chrono::seconds(config.join_timeout_s);
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
                   config.join_timeout_s);
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

// The node step's "serve" after its ranks agreed that every node is ready;
// false when it closed the control socket instead (a node failed).
bool wait_for_go(int control) {
  auto message = receive_message(control);
  return message && nlohmann::json::parse(message->payload).value("serve", false);
}

}  // namespace

int run_holder() {
  UniqueFd control(kHolderControlFd);
  UniqueFd signals = block_termination_signals();
  UniqueFd image_fd;
  log::set_origin(host_name());
  // Until "serve", the node step's death (its SIGTERM to us waits in the
  // signalfd) shows as EOF or EPIPE on the control socket: we exit quietly.
  auto received = read_config(control.get(), image_fd);
  if (!received) return 1;
  const HolderConfig& config = *received;
  log::set_verbose(config.verbose);
  std::unique_ptr<image::Container> container;
  try {
    container = build_container(config, std::move(image_fd));
  } catch (const Error& e) {
    tell_node_step(control.get(), {{"error", e.what()}, {"hint", e.hint()}, {"exit_code", e.exit_code()}});
    return e.exit_code();
  }
  if (!tell_node_step(control.get(), {{"ready", true}})) return 1;
  // Ranks are let in only once every node has its container: a node step
  // that dies before that (Open MPI 4.1.4 crashes in MPI_Init now and then
  // under load) leaves no rank inside a container whose holder is gone, and
  // the front end can start the node step again.
  if (!wait_for_go(control.get())) return 0;
  JoinServer joins(listen_rendezvous(config.socket_name));
  joins.serve_container(container.get(), config);
  int code = serve(container.get(), joins, control.get(), signals.get(), config);
  log::info("FUSE requests served: {}", container->server().request_counts().summary());
  return code;
}

int run_daemon_holder(UniqueFd listener, const NodeSpec& spec) {
  UniqueFd signals = block_termination_signals();
  log::set_verbose(spec.verbose);
  log::set_origin(host_name());
  JoinServer joins(std::move(listener));
  HolderConfig config;
  config.join_timeout_s = spec.join_timeout_s;
  std::unique_ptr<image::Container> container;
  try {
    UniqueFd image_fd;
    // No node step, so no broadcast: one stat of the image per node.
    config = make_holder_config(spec, image::read_image_metadata(spec.image_path, &image_fd));
    container = build_container(config, std::move(image_fd));
    joins.serve_container(container.get(), config);
  } catch (const Error& e) {
    // Every task of this node asks; each gets the error, then we go.
    joins.serve_failure(e);
    config.join_timeout_s = std::min(config.join_timeout_s, kFailureLingerS);
  }
  return serve(container.get(), joins, -1, signals.get(), config);
}

}  // namespace hl::wireup
