#include "wireup/holder.hpp"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/private_dir.hpp"
#include "common/signals.hpp"
#include "common/strings.hpp"
#include "image/container.hpp"
#include "image/image_metadata.hpp"
#include "wireup/companion.hpp"
#include "wireup/holder_protocol.hpp"
#include "wireup/join_server.hpp"
#include "wireup/node_setup.hpp"
#include "wireup/rendezvous.hpp"

namespace hl::wireup {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kFailureLingerS = 10;
// After every joined rank exited, how long to wait for ranks that never came.
constexpr auto kMissingRanksGrace = std::chrono::seconds(10);
// A stopping holder gives its ranks this long to exit on SIGTERM (FUSE
// still served meanwhile), then kills them.
constexpr auto kRankStopGrace = std::chrono::seconds(2);

// Where the node's container is assembled: a private dir of this launch.
std::unique_ptr<image::Container> build_container(const LaunchSpec& launch, const image::ImageMetadata& image,
                                                  UniqueFd image_fd, NodeFacts& facts, const OwnedDir& dir) {
  // Opened here and compared with what the front end read, no stat (the
  // local holder may bring its fd); a staged copy replaces the shared file.
  if (!launch.serving.staged_path.empty()) {
    image_fd = image::open_staged_image(image, launch.serving.staged_path);
  } else if (!image_fd) {
    image_fd = image::open_matching_image(image);
  }
  facts.setup.staging_dir = dir.dir().subdir("staging").path();
  facts.setup.image_offset = image.squashfs_offset;
  return image::Container::build(std::move(image_fd), image.squashfs_size, launch.container, facts.setup);
}

// When a holder's job on its node is done.
struct ServePolicy {
  int join_timeout_s = 120;         // an unnamed launch: its ranks join within this
  bool control_loss_stops = false;  // the starter's death is the job's (the front end on one machine)
  bool named = false;               // serve launch after launch until stopped
  int idle_timeout_s = 0;           // named: stop after this long without a rank (0: never)
};

ServePolicy policy_for(const LaunchSpec& launch, bool control_loss_stops) {
  ServePolicy p;
  p.join_timeout_s = launch.join.timeout_s;
  p.control_loss_stops = control_loss_stops;
  p.named = !launch.named.name.empty();
  // In a Slurm job a named container lives as long as the job.
  if (p.named && !launch.named.in_job) p.idle_timeout_s = launch.named.idle_timeout_s;
  return p;
}

// One holder's serve loop: FUSE, joins, joined ranks' pidfds, the control
// socket (-1: none) and termination signals, until the job is done here.
class ServeLoop {
 public:
  ServeLoop(image::Container* container, JoinServer& joins, int control, int signals, ServePolicy policy)
      : container_(container),
        joins_(joins),
        control_(control),
        signals_(signals),
        policy_(policy),
        deadline_(Clock::now() + std::chrono::seconds(policy.join_timeout_s)) {}

  // 0 when every expected rank joined and exited, or the holder was stopped.
  int run() {
    while (policy_.named || !joins_.finished()) {
      if (joins_.stop_requested()) stop("hpclaunch stop");
      if (idle()) stop("idle");
      if (stopping_ && (!joins_.any_rank_running() || Clock::now() >= stop_deadline_)) {
        joins_.signal_ranks(SIGKILL);
        return 0;
      }
      auto timeout = poll_timeout();
      if (!timeout) return 1;
      // Serving threads answer FUSE by themselves; one thread alone is this loop.
      bool serve_fuse = container_ != nullptr && !container_->server().threaded();
      std::vector<pollfd> fds = {{serve_fuse ? container_->server().fd() : -1, POLLIN, 0},
                                 {stopping_ ? -1 : joins_.listener(), POLLIN, 0},
                                 {control_, POLLIN, 0},
                                 {signals_, POLLIN, 0}};
      joins_.add_pollfds(fds);
      if (::poll(fds.data(), fds.size(), *timeout) < 0) {
        if (errno == EINTR) continue;
        throw_errno("poll");
      }
      if (fds[0].revents & POLLIN) container_->server().process_one();
      if (fds[1].revents & POLLIN) joins_.accept_one();
      if (fds[2].revents & (POLLIN | POLLHUP)) control_lost();
      if (fds[3].revents & POLLIN) stop("the job is being stopped");
      for (std::size_t i = 4; i < fds.size(); ++i) {
        if (fds[i].revents != 0) joins_.handle(fds[i].fd);
      }
    }
    return 0;
  }

 private:
  bool idle() const {
    return policy_.idle_timeout_s > 0 && !joins_.any_rank_running() &&
           Clock::now() - joins_.last_activity() >= std::chrono::seconds(policy_.idle_timeout_s);
  }

  // nullopt: the join timeout passed (reported here).
  std::optional<int> poll_timeout() {
    if (stopping_) return 50;
    if (policy_.named) {
      if (policy_.idle_timeout_s == 0 || joins_.any_rank_running()) return -1;
      auto until = joins_.last_activity() + std::chrono::seconds(policy_.idle_timeout_s);
      return static_cast<int>(
          std::max<long>(1, std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count()));
    }
    bool waiting_for_joins = joins_.expected() == 0 || joins_.joined() < joins_.expected();
    if (!waiting_for_joins) return -1;
    auto until = deadline_;
    if (joins_.all_joined_ranks_gone()) until = std::min(until, joins_.last_exit() + kMissingRanksGrace);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left > 0) return static_cast<int>(left);
    log::error("only {} of {} local ranks joined (join timeout {} s, or the others were killed before joining)",
               joins_.joined(), joins_.expected() > 0 ? fmt::to_string(joins_.expected()) : "the expected",
               policy_.join_timeout_s);
    return std::nullopt;
  }

  // The starter closed the control socket: with the front end as starter
  // the job is over; a node step that went away (a crash, kill -9) leaves
  // its ranks to us, and we serve them to the end.
  void control_lost() {
    char byte;
    if (::recv(control_, &byte, 1, MSG_DONTWAIT | MSG_PEEK) > 0) return;  // a message, not EOF: none expected
    control_ = -1;
    if (policy_.control_loss_stops) {
      stop("hpclaunch went away");
    } else if (joins_.joined() > 0) {
      log::warn("the node step went away; serving this node's {} ranks to the end", joins_.joined());
    }
  }

  void stop(const char* why) {
    if (stopping_) return;
    stopping_ = true;
    stop_deadline_ = Clock::now() + kRankStopGrace;
    if (joins_.any_rank_running()) log::info("{}: stopping this node's ranks", why);
    joins_.signal_ranks(SIGTERM);
  }

  image::Container* container_;
  JoinServer& joins_;
  int control_;
  int signals_;
  ServePolicy policy_;
  Clock::time_point deadline_;
  bool stopping_ = false;
  Clock::time_point stop_deadline_{};
};

// FUSE served from threads from now on (the build child has forked): as
// many as --fuse-threads, or as the node's ranks and cpus suggest.
void start_serving_threads(image::Container& container, const LaunchSpec& launch, int local_ranks) {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  int ncpus = ::sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
  int ranks = local_ranks > 0 ? local_ranks : launch.serving.ranks_per_node;
  image::FuseThreads threads{image::fuse_thread_count(launch.serving, ranks, ncpus), launch.serving.fuse_clone_fd};
  container.server().serve_in_threads(threads);
  log::info("FUSE served by {} thread{}{}", threads.count, threads.count == 1 ? "" : "s",
            threads.count > 1 && threads.clone_fd ? " (a /dev/fuse clone each)" : "");
}

void report_serving(image::Container& container, const LaunchSpec& launch) {
  const auto& server = container.server();
  log::info("FUSE requests served ({} thread{}): {}", server.threads().count, server.threads().count == 1 ? "" : "s",
            server.request_counts().summary());
  const auto& staged = launch.serving.staged_path;
  log::info("image bytes read by this holder: {} from {}", server.image_bytes_read(),
            staged.empty() ? fmt::format("the shared file `{}`", launch.container.image)
                           : fmt::format("the staged copy `{}` (0 from the shared file)", staged));
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
  // A process group of its own: mpirun stops a node step by signalling its
  // group, and once ranks are inside our container we must outlive the node
  // step (before that, PR_SET_PDEATHSIG takes us with it).
  ::setpgid(0, 0);
  // Our stderr is the node step's output pipe, whose reader (srun, mpirun)
  // may be gone while we still serve ranks: a message must not kill us.
  ::signal(SIGPIPE, SIG_IGN);
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
  // Opened before the container's user namespace, where we are uid 0 and
  // the runtime dir's name (…/hpclaunch-UID) would come out wrong.
  PrivateDir runtime;
  OwnedDir dir;
  std::unique_ptr<image::Container> container;
  try {
    runtime = open_runtime_dir(environment_of_this_process());
    dir = OwnedDir::create(runtime, launch.join.rendezvous_group, host_name());
    facts = discover_node_facts(launch, dirname_of(dir.path()));
    container = build_container(launch, request->image, std::move(request->image_fd), facts, dir);
  } catch (const Error& e) {
    tell_starter([&] { send_failure(control.get(), e); });
    return e.exit_code();
  }
  if (!tell_starter([&] { send_ready(control.get()); })) return 1;
  // Ranks are let in only once every node has its container: a node step
  // that dies before that (Open MPI 4.1.4 crashes in MPI_Init now and then
  // under load) leaves no rank inside a container whose holder is gone, and
  // the front end can start the node step again.
  auto detach = await_serve(control.get());
  if (!detach) return 0;
  if (*detach) ::prctl(PR_SET_PDEATHSIG, 0);  // a node step's death no longer stops us
  JoinServer joins(listen_rendezvous(dir.dir()));
  joins.serve_container(container.get(), launch, facts);
  start_serving_threads(*container, launch, 0);
  int code = ServeLoop(container.get(), joins, control.get(), signals.get(), policy_for(launch, !*detach)).run();
  report_serving(*container, launch);
  // The last one out tidies up: a front end killed with -9 left its
  // directory of this launch (its owner lock is free now).
  dir.remove();
  // A named container on one machine has this holder alone: it goes with
  // its record (in a job, `hpclaunch stop` or the next launch's sweep does it).
  if (!launch.named.name.empty() && !launch.named.in_job) runtime.remove(launch.join.rendezvous_group);
  runtime.sweep_stale(launch.join.rendezvous_group);
  return code;
}

int run_companion_holder(UniqueFd listener, const LaunchSpec& launch) {
  ::signal(SIGPIPE, SIG_IGN);  // stderr may be a task's pipe its srun closed (-v)
  UniqueFd signals = block_termination_signals();
  log::set_verbose(launch.verbose);
  log::set_origin(host_name());
  PrivateDir runtime = open_runtime_dir(environment_of_this_process());
  OwnedDir dir = OwnedDir::create(runtime, launch.join.rendezvous_group, host_name());
  JoinServer joins(std::move(listener));
  int timeout_s = launch.join.timeout_s;
  NodeFacts facts;
  std::unique_ptr<image::Container> container;
  try {
    UniqueFd image_fd;
    // No node step, so no broadcast: one stat of the image per node.
    auto image = image::read_image_metadata(launch.container.image, &image_fd);
    facts = discover_node_facts(launch, dirname_of(dir.path()));
    container = build_container(launch, image, std::move(image_fd), facts, dir);
    joins.serve_container(container.get(), launch, facts);
    start_serving_threads(*container, launch, 0);
  } catch (const Error& e) {
    // Every task of this node asks; each gets the error, then we go.
    joins.serve_failure(e);
    timeout_s = std::min(timeout_s, kFailureLingerS);
  }
  ServePolicy policy = policy_for(launch, false);
  policy.join_timeout_s = timeout_s;
  int code = ServeLoop(container.get(), joins, -1, signals.get(), policy).run();
  // Leave under the tasks' lock, so a late task either joined us or starts
  // a new holder; never connects to a socket nobody serves.
  CompanionNode node = lock_companion_node(runtime, launch.join.rendezvous_group);
  dir.remove();
  return code;
}

}  // namespace hl::wireup
