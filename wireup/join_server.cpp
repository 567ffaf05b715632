#include "wireup/join_server.hpp"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "common/child_process.hpp"
#include "common/log.hpp"
#include "common/message_socket.hpp"
#include "common/strings.hpp"
#include "devices/binding_render.hpp"
#include "devices/topology.hpp"
#include "wireup/rendezvous.hpp"

namespace hl::wireup {

void JoinServer::serve_container(image::Container* container, const LaunchSpec& launch, const NodeFacts& facts) {
  container_ = container;
  launch_ = &launch;
  facts_ = &facts;
  created_unix_ = static_cast<std::int64_t>(::time(nullptr));
}

namespace {

JoinReply failure_reply(const Error& e) {
  JoinReply reply;
  reply.error = e.what();
  reply.hint = e.hint();
  reply.exit_code = e.exit_code();
  return reply;
}

}  // namespace

void JoinServer::signal_ranks(int sig) const {
  for (const auto& [fd, _] : ranks_) ::syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0);
}

void JoinServer::add_pollfds(std::vector<pollfd>& fds) const {
  for (const auto& [fd, _] : pending_) fds.push_back({fd, POLLIN, 0});
  for (const auto& [fd, _] : ranks_) fds.push_back({fd, POLLIN, 0});
}

void JoinServer::accept_one() {
  UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return;
  if (peer_credentials(conn.get()).uid != ::getuid()) return;  // not our user: drop
  int fd = conn.get();
  pending_.emplace(fd, std::move(conn));
}

void JoinServer::handle(int fd) {
  if (auto it = ranks_.find(fd); it != ranks_.end()) {
    ranks_.erase(it);  // pidfd readable: that rank exited
    last_exit_ = Clock::now();
    return;
  }
  auto it = pending_.find(fd);
  if (it == pending_.end()) return;
  UniqueFd conn = std::move(it->second);
  pending_.erase(it);
  // One bad request (a peer that is not hpclaunch, a string of the image
  // nlohmann cannot encode) costs that connection, never the holder.
  try {
    answer(conn.get());
  } catch (const std::exception& e) {
    log::warn("join: {}", e.what());
  }
}

void JoinServer::answer(int conn) {
  auto message = receive_message(conn);
  if (!message) return;
  JoinRequest request = decode_request(message->payload);
  JoinReply reply;
  switch (request.kind) {
    case RequestKind::join:
      return join(conn, request);
    case RequestKind::status:
      reply.ok = true;
      reply.status = status();
      return send_message(conn, encode(reply));
    case RequestKind::stop:
      stop_requested_ = true;
      reply.ok = true;
      return send_message(conn, encode(reply));
    case RequestKind::root_view:
      if (!container_) return send_message(conn, encode(failure_reply(*failure_)));
      reply.ok = true;
      int fds[2] = {container_->root_view_fd(), container_->mount_namespace_fd()};
      return send_message(conn, encode(reply), fds);
  }
}

nlohmann::json JoinServer::status() const {
  if (launch_ == nullptr) return {};
  const LaunchSpec& launch = *launch_;
  return {{"name", launch.named.name},
          {"node", host_name()},
          {"image", launch.container.image},
          {"created", created_unix_},
          {"writable", launch.container.writable},
          {"root", launch.container.root},
          {"ranks_running", ranks_.size()},
          {"ranks_joined", joined_}};
}

void JoinServer::join(int conn, const JoinRequest& request) {
  if (request.local_size > 0 && expected_ == 0) expected_ = request.local_size;
  last_join_ = Clock::now();
  ++joined_;
  if (failure_) {
    send_message(conn, encode(failure_reply(*failure_)));
    return;
  }
  // The pid comes from the kernel, not the message: the rank is this process.
  PeerCredentials peer = peer_credentials(conn);
  UniqueFd pidfd = open_pidfd(peer.pid);
  if (!pidfd) throw_errno("pidfd_open joiner");
  if (request.root_view && !launch_->container.root) {
    Error refused("this container was made without --root: its ranks cannot be root inside",
                  "launch without --root, or make the container with --root");
    send_message(conn, encode(failure_reply(refused)));
    return;
  }
  JoinReply reply;
  try {
    // The image's Entrypoint and Cmd are known here only (the front end
    // never opens the image): what this launch's ranks run.
    reply.argv = image::rank_command(container_->image_config(), request.command, launch_->container.image);
  } catch (const Error& e) {
    send_message(conn, encode(failure_reply(e)));
    return;
  }
  reply.ok = true;
  reply.image_env = container_->image_environment();
  reply.hook_env = container_->hook_environment();
  reply.image_workdir = container_->image_config().workdir;
  if (request.rank == 0) {
    std::string warning = image::user_warning(container_->image_config(), request.root_view, facts_->setup.user.uid,
                                              launch_->container.image);
    if (!warning.empty()) reply.warnings.push_back(warning);
  }
  reply.binding = binding_for(request);
  reply.library_dirs = facts_->library_dirs;
  reply.bin_dirs = facts_->bin_dirs;
  // The root view: its user namespace and the mounts. The user view: the
  // same, then the nested namespace that gives the rank its own uid back.
  int fds[3] = {container_->root_view_fd(), container_->mount_namespace_fd(), container_->user_view_fd()};
  send_message(conn, encode(reply), std::span<const int>(fds, request.root_view ? 2 : 3));
  log::info("rank {} (local {}) joined, {}/{}", request.rank, request.local_rank, joined_, expected_);
  int key = pidfd.get();
  ranks_.emplace(key, std::move(pidfd));
}

// The node's plan for its local ranks, made once (per distinct cpuset the
// ranks bring: normally one per step) from the host topology.
std::string JoinServer::binding_for(const JoinRequest& request) {
  const devices::BindingOptions& options = request.binding;
  bool per_rank_gpus = options.gpus == devices::GpuSelection::per_rank;
  if ((options.policy == devices::BindPolicy::none && !per_rank_gpus) || request.local_rank < 0) return {};
  std::string key = fmt::format("{}|{}|{}", request.allowed_cpus, request.local_size, request.cuda_visible_devices);
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    if (!topology_) topology_ = devices::Topology::load_system().describe();
    devices::PlanRequest plan_request;
    plan_request.allowed = devices::parse_cpu_list(request.allowed_cpus);
    plan_request.local_ranks = std::max({request.local_size, request.local_rank + 1, 1});
    plan_request.cpus_per_rank = options.cpus_per_rank;
    plan_request.policy = options.policy;
    plan_request.gpus = options.gpus;
    if (!request.cuda_visible_devices.empty()) plan_request.cuda_visible_devices = request.cuda_visible_devices;
    it = plans_.emplace(key, devices::plan_bindings(*topology_, plan_request)).first;
    for (const auto& w : it->second.warnings) log::warn("{}", w);
  }
  const auto& ranks = it->second.ranks;
  if (static_cast<std::size_t>(request.local_rank) >= ranks.size()) return {};
  return devices::rank_binding_to_json(ranks[static_cast<std::size_t>(request.local_rank)]).dump();
}

}  // namespace hl::wireup
