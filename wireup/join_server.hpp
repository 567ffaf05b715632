#pragma once
// The holder's side of the rendezvous: accepts connections of this user
// only (SO_PEERCRED), answers each join request with the namespace fds, the
// image environment and the rank's binding (planned once per node from the
// host topology) — or with the build error in companion mode — and tracks
// every joined rank by pidfd until it exits.
#include <poll.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "devices/binding_plan.hpp"
#include "devices/topology_info.hpp"
#include "image/container.hpp"
#include "wireup/join_protocol.hpp"
#include "wireup/launch_spec.hpp"
#include "wireup/node_setup.hpp"

namespace hl::wireup {

class JoinServer {
 public:
  using Clock = std::chrono::steady_clock;

  explicit JoinServer(UniqueFd listener) : listener_(std::move(listener)) {}

  void serve_container(image::Container* container, const LaunchSpec& launch, const NodeFacts& facts);
  void serve_failure(const Error& e) { failure_ = e; }

  int listener() const { return listener_.get(); }
  bool finished() const { return expected_ > 0 && joined_ >= expected_ && ranks_.empty(); }
  // Ranks joined, and all of them are gone: the job is ending or the missing
  // ones were killed before they could join (scancel, a failed task).
  bool all_joined_ranks_gone() const { return joined_ > 0 && ranks_.empty(); }
  Clock::time_point last_exit() const { return last_exit_; }
  int joined() const { return joined_; }
  int expected() const { return expected_; }
  int ranks_running() const { return static_cast<int>(ranks_.size()); }
  // The last join or rank exit (a named container's idle timeout counts from it).
  Clock::time_point last_activity() const { return std::max(last_exit_, last_join_); }
  // `hpclaunch stop NAME` asked this holder to stop.
  bool stop_requested() const { return stop_requested_; }

  bool any_rank_running() const { return !ranks_.empty(); }
  // Signals every joined rank still running (through its pidfd: never a
  // recycled pid). A holder that stops takes its ranks with it rather than
  // leave them in a container whose files are gone.
  void signal_ranks(int sig) const;

  // The connections and pidfds to poll besides the listener.
  void add_pollfds(std::vector<pollfd>& fds) const;
  void accept_one();
  // A pending connection became readable, or a joined rank exited.
  void handle(int fd);

 private:
  void answer(int conn);
  void join(int conn, const JoinRequest& request);
  nlohmann::json status() const;
  std::string binding_for(const JoinRequest& request);

  UniqueFd listener_;
  image::Container* container_ = nullptr;
  const LaunchSpec* launch_ = nullptr;
  const NodeFacts* facts_ = nullptr;
  std::optional<devices::TopologyInfo> topology_;
  std::map<std::string, devices::BindingPlan> plans_;
  std::optional<Error> failure_;
  std::map<int, UniqueFd> pending_;  // connections waiting for their request
  std::map<int, UniqueFd> ranks_;    // pidfds of joined ranks still running
  int expected_ = 0;
  int joined_ = 0;
  bool stop_requested_ = false;
  Clock::time_point created_ = Clock::now();
  std::int64_t created_unix_ = 0;
  Clock::time_point last_exit_{};
  Clock::time_point last_join_ = Clock::now();
};

}  // namespace hl::wireup
