#include "launcher/named_launch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/message_socket.hpp"
#include "common/private_dir.hpp"
#include "common/self_path.hpp"
#include "common/signals.hpp"
#include "common/strings.hpp"
#include "image/image_metadata.hpp"
#include "launcher/named.hpp"
#include "launcher/node_side.hpp"
#include "launcher/step_output.hpp"
#include "wireup/holder_protocol.hpp"
#include "wireup/join_protocol.hpp"
#include "wireup/rendezvous.hpp"

namespace hl::launcher {
namespace {

constexpr int kGraceMs = 5000;

// Signals arriving while we make a container: stop and say so.
void check_signals(int signals) {
  pollfd fd{signals, POLLIN, 0};
  if (::poll(&fd, 1, 0) <= 0) return;
  signalfd_siginfo info{};
  ssize_t ignored = ::read(signals, &info, sizeof info);
  (void)ignored;
  throw Error(fmt::format("stopped (signal {}) while making the named container", info.ssi_signo), "",
              128 + static_cast<int>(info.ssi_signo));
}

// Whether this machine's holder of `group` answers (outside a job it may
// have stopped after its idle timeout, or crashed).
bool holder_answers(const std::string& group) {
  try {
    UniqueFd sock = wireup::connect_rendezvous(group, std::chrono::milliseconds(0));
    wireup::JoinRequest status;
    status.kind = wireup::RequestKind::status;
    send_message(sock.get(), wireup::encode(status));
    auto reply = receive_message(sock.get());
    return reply && wireup::decode_reply(reply->payload).ok;
  } catch (const Error&) {
    return false;
  }
}

// One machine: a holder of our own, detached (it must outlive us), its
// messages in a log file beside the record.
void make_here(const LaunchPlan& plan, const PrivateDir& group, int keeper, int signals) {
  UniqueFd image_fd;
  image::ImageMetadata image = image::read_image_metadata(plan.spec.container.image, &image_fd);
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  std::string log_path = fmt::format("{}/holder.{}.log", group.path(), host_name());
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!null || !log) throw_errno("open", log ? "/dev/null" : log_path);
  auto [ours, theirs] = message_socket_pair();
  SpawnOptions options;
  options.detach = true;
  // The holder keeps the group's claim (its record with it) for its life.
  options.fd_map = {{theirs.get(), wireup::kHolderControlFd}, {keeper, keeper}};
  options.stdin_fd = null.get();
  options.stdout_fd = options.stderr_fd = log.get();
  ChildProcess::spawn({sibling_binary("hpclaunch-node"), "holder"}, options);
  theirs.reset();
  wireup::send_request(ours.get(), wireup::HolderRequest{plan.spec, image, std::move(image_fd)});
  pollfd fds[2] = {{ours.get(), POLLIN, 0}, {signals, POLLIN, 0}};
  while (::poll(fds, 2, plan.spec.join.timeout_s * 1000) < 0 && errno == EINTR) {
  }
  check_signals(signals);
  if (!(fds[0].revents & (POLLIN | POLLHUP))) {
    throw Error(fmt::format("the named container's holder was not ready after {} s", plan.spec.join.timeout_s),
                fmt::format("see {}", log_path));
  }
  wireup::await_ready(ours.get());
  wireup::send_serve(ours.get(), true);  // detached: it serves on without us
}

// Slurm: a node step on `nodes` that lasts the job; its output goes to a
// file (it writes after we are gone), which we watch until it is ready.
void make_on_nodes(const LaunchPlan& plan, const std::vector<std::string>& nodes, const PrivateDir& group, int keeper,
                   bool verbose, int signals) {
  auto command = node_step_on(plan, nodes);
  StepOutput output(verbose, fmt::format("{}/node-step.{}.log", group.path(), random_hex(4)));
  EnvList env = env_overlay(env_overlay(environment_of_this_process(), plan.step_env), plan.node_env);
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  SpawnOptions options;
  options.env = env_assignments(env);
  options.env->push_back(image_identity_assignment(image::read_image_metadata(plan.spec.container.image)));
  options.stdin_fd = null.get();
  options.stdout_fd = options.stderr_fd = output.write_fd();
  // srun keeps the group's claim (the record) while the node step lasts:
  // once the job ends, the next launch's sweep removes what is left here.
  options.fd_map = {{keeper, keeper}};
  log::info("node step: {}", fmt::join(command, " "));
  ChildProcess node = ChildProcess::spawn(command, options);
  output.close_write_end();
  while (!output.containers_ready()) {
    pollfd fds[3] = {{node.pidfd(), POLLIN, 0}, {output.read_fd(), POLLIN, 0}, {signals, POLLIN, 0}};
    if (::poll(fds, 3, 1000) < 0 && errno != EINTR) throw_errno("poll");
    output.drain();
    if (fds[2].revents & POLLIN) {
      node.terminate(kGraceMs);
      check_signals(signals);
    }
    if (fds[0].revents & POLLIN && !output.containers_ready()) {
      int code = node.wait();
      output.drain();
      if (!verbose) print_hpclaunch_lines(output.text(), is_problem_line);
      throw Error(
          fmt::format("the named container's node step failed ({}) on {}", describe_exit(code), fmt::join(nodes, ",")),
          "", code == 0 ? 1 : code);
    }
  }
  node.release();  // it lasts the job, not this launch
}

// Where the container is missing: every node of this launch that the
// record does not have (outside a job: this machine if its holder is gone).
std::vector<std::string> missing_nodes(const LaunchPlan& plan, const std::optional<NamedRecord>& existing) {
  std::vector<std::string> have = existing ? existing->nodes : std::vector<std::string>{};
  if (!plan.spec.named.in_job && !have.empty() && !holder_answers(plan.spec.join.rendezvous_group)) have.clear();
  std::vector<std::string> missing;
  for (const auto& n : plan.app_nodes) {
    if (std::find(have.begin(), have.end(), n) == have.end()) missing.push_back(n);
  }
  return missing;
}

void ensure_container(const LaunchPlan& given, const PrivateDir& runtime, bool verbose, int signals) {
  const std::string& name = given.spec.named.name;
  LockedRecord record(runtime, given.spec.join.rendezvous_group);
  auto existing = record.load();
  NamedRecord asked = record_of(name, given.spec.container);
  if (existing) {
    if (auto why = record_mismatch(*existing, asked)) {
      throw Error(*why, fmt::format("use another --name, or `hpclaunch stop {}` first", name));
    }
  }
  auto missing = missing_nodes(given, existing);
  if (missing.empty()) return;
  // Made on more nodes: as the container was made (its image, its flags).
  LaunchPlan plan = given;
  if (plan.spec.container.image.empty()) {
    if (!existing) {
      throw Error(fmt::format("there is no named container `{}` yet", name),
                  fmt::format("make it first: hpclaunch --name {} --image IMAGE.sqsh ...", name));
    }
    plan.spec.container.image = existing->image;
    plan.spec.container.writable = existing->writable;
    plan.spec.container.root = existing->root;
    if (asked.mounts.empty()) {
      auto& mounts = plan.spec.container.mounts;
      mounts.insert(mounts.end(), existing->mounts.begin(), existing->mounts.end());
    }
    asked = *existing;
    env_set(plan.node_env, wireup::kLaunchSpecVariable, wireup::encode(plan.spec));
  }
  log::info("making the named container `{}` on {}", name, fmt::join(missing, ","));
  UniqueFd keeper = record.group_dir().share_claim();
  if (plan.spec.named.in_job) {
    make_on_nodes(plan, missing, record.group_dir(), keeper.get(), verbose, signals);
  } else {
    make_here(plan, record.group_dir(), keeper.get(), signals);
  }
  NamedRecord updated = existing && !existing->nodes.empty() && plan.spec.named.in_job ? *existing : asked;
  if (updated.created == 0) updated.created = static_cast<std::int64_t>(::time(nullptr));
  if (!plan.spec.named.in_job) updated.nodes.clear();
  updated.nodes.insert(updated.nodes.end(), missing.begin(), missing.end());
  record.save(updated);
}

}  // namespace

int run_named(const LaunchPlan& plan, bool verbose) {
  UniqueFd signals = block_termination_signals();
  PrivateDir runtime = open_runtime_dir(environment_of_this_process());
  ensure_container(plan, runtime, verbose, signals.get());
  // The front end's own directory (Open MPI's session dirs under mpirun).
  OwnedDir own_dir = OwnedDir::create(runtime, plan.spec.join.rendezvous_group, front_end_dir_name(host_name()));
  EnvList env = env_overlay(env_overlay(environment_of_this_process(), plan.step_env), plan.app_env);
  SpawnOptions options;
  options.env = env_assignments(env);
  options.parent_death_signal = SIGTERM;
  ChildProcess app = ChildProcess::spawn(plan.app_step, options);
  pollfd fds[2] = {{app.pidfd(), POLLIN, 0}, {signals.get(), POLLIN, 0}};
  while (true) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) throw_errno("poll");
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info{};
      ssize_t ignored = ::read(signals.get(), &info, sizeof info);
      (void)ignored;
      log::warn("stopping the launch (signal {}); the named container `{}` stays", info.ssi_signo,
                plan.spec.named.name);
      app.terminate(kGraceMs);
      return 128 + static_cast<int>(info.ssi_signo);
    }
    if (fds[0].revents & POLLIN) return app.wait();
  }
}

}  // namespace hl::launcher
