#include "launcher/frontend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/scope_guard.hpp"
#include "common/signals.hpp"
#include "common/files.hpp"
#include "common/strings.hpp"

namespace hl::launcher {
namespace {

constexpr int kGraceMs = 5000;
constexpr int kNodeStepExitMs = 3000;
constexpr int kNodeStepFailureMs = 300;
// Open MPI 4.1.4's MPI_Init segfaults now and then under load (about 1 launch
// in 100 on 2 busy cores, a NULL call in btl_tcp while MPI_Init progresses):
// a node step killed by a signal is started again, at most twice. (srun
// reports SIGTERM, 143, when --kill-on-bad-exit stopped the other nodes.)
constexpr int kNodeStepRestarts = 2;
constexpr int kStopSignalWaitMs = 200;

std::vector<std::string> step_environment(const EnvList& base, const EnvList& extra) {
  return env_assignments(env_overlay(base, extra));
}

bool has_exited(const ChildProcess& child) {
  pollfd fd{child.pidfd(), POLLIN, 0};
  return ::poll(&fd, 1, 0) > 0;
}

// scancel and the time limit signal every step and us at once: a signal
// soon after the node step died means it was stopped, not that it crashed.
bool signal_arrives(int signals, int within_ms) {
  pollfd fd{signals, POLLIN, 0};
  return ::poll(&fd, 1, within_ms) > 0;
}

std::string captured_output(int capture) { return read_file(fmt::format("/proc/self/fd/{}", capture)); }

// srun reports SIGTERM for a node step that --kill-on-bad-exit stopped: its
// own line names the node and signal that started it ("srun: error: node2:
// task 1: Segmentation fault"), mpirun's "mpirun noticed that process ...".
std::string describe_node_death(const std::string& output, int code) {
  for (const auto& line : split(output, '\n')) {
    bool srun_task_line = line.starts_with("srun: error: ") && line.find(": task") != std::string::npos &&
                          line.find("Terminated") == std::string::npos;
    if (srun_task_line || line.starts_with("mpirun noticed")) return fmt::format("{}: {}", describe_exit(code), line);
  }
  return describe_exit(code);
}

// The node step's output (launcher noise included) is kept in memory and
// only our own "hpclaunch:" lines are shown when it fails (pyxis does this).
void report_node_failure(int capture, int code, bool verbose, int starts) {
  std::string output = captured_output(capture);
  if (killed_by_signal(code)) {
    log::error("the node step died ({}){}", describe_node_death(output, code),
               starts > 1 ? fmt::format("; started {} times", starts) : "");
  }
  std::set<std::string> seen;
  bool any = false;
  for (const auto& line : split(output, '\n')) {
    if (!verbose && !line.starts_with("hpclaunch:")) continue;
    if (!seen.insert(line).second) continue;
    ::dprintf(STDERR_FILENO, "%s\n", line.c_str());
    any = true;
  }
  if (!any) {
    if (!killed_by_signal(code))
      log::error("the node step failed ({}) without an hpclaunch message", describe_exit(code));
    log::error("launcher output of the node step:");
    ::dprintf(STDERR_FILENO, "%s", output.c_str());
  }
}

// Warnings of the node step (e.g. "ranks share cores") are worth seeing even
// when it succeeds; when the app step failed, so are the node step's errors
// (a holder that failed while ranks were joining explains their failure).
// Each distinct line once.
void report_node_messages(int capture, bool with_errors) {
  std::set<std::string> seen;
  for (const auto& line : split(captured_output(capture), '\n')) {
    bool wanted =
        line.find(" warning: ") != std::string::npos || (with_errors && line.find(" error: ") != std::string::npos);
    if (line.starts_with("hpclaunch:") && wanted && seen.insert(line).second) {
      ::dprintf(STDERR_FILENO, "%s\n", line.c_str());
    }
  }
}

int wait_signalled(ChildProcess& app, ChildProcess& node, int signal_number) {
  app.signal(SIGTERM);
  node.signal(SIGTERM);
  app.terminate(kGraceMs);
  node.terminate(kGraceMs);
  return 128 + signal_number;
}

}  // namespace

int run_plan(const LaunchPlan& plan, bool verbose) {
  UniqueFd signals = block_termination_signals();
  // mpirun leaves its session dir behind when it is stopped by a signal; we
  // named them, so we remove them (on this host) once both steps are gone.
  ScopeGuard remove_session_dirs([&] {
    for (const auto& dir : plan.session_dirs) remove_tree(dir);
  });
  UniqueFd capture(::memfd_create("hpclaunch-node-step", MFD_CLOEXEC));
  if (!capture) throw_errno("memfd_create");
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  EnvList common = environment_of_this_process();
  for (const auto& kv : plan.step_env) common.push_back(kv);

  SpawnOptions node_options;
  node_options.env = step_environment(common, plan.node_env);
  node_options.stdin_fd = devnull.get();
  if (!verbose) node_options.stdout_fd = node_options.stderr_fd = capture.get();
  SpawnOptions app_options;
  app_options.env = step_environment(common, plan.app_env);
  log::info("node step: {}", fmt::join(plan.node_step, " "));
  ChildProcess node = ChildProcess::spawn(plan.node_step, node_options);
  ChildProcess app = ChildProcess::spawn(plan.app_step, app_options);

  std::optional<int> node_code;
  int starts = 1;
  while (true) {
    std::vector<pollfd> fds = {{app.pidfd(), POLLIN, 0}, {signals.get(), POLLIN, 0}};
    if (!node_code) fds.push_back({node.pidfd(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info{};
      ssize_t ignored = ::read(signals.get(), &info, sizeof info);
      (void)ignored;
      log::warn("stopping the job (signal {})", info.ssi_signo);
      return wait_signalled(app, node, static_cast<int>(info.ssi_signo));
    }
    if (fds.size() > 2 && (fds[2].revents & POLLIN)) {
      node_code = node.wait();
      // Holders let ranks in only after every node is ready, so a node step
      // killed by a signal (its holders report their own failures as exit
      // statuses) left no rank behind: the ranks still waiting join the new
      // one (see wireup/holder.cpp). Not when the app step is over already.
      if (killed_by_signal(*node_code) && starts <= kNodeStepRestarts && !has_exited(app)) {
        if (signal_arrives(signals.get(), kStopSignalWaitMs)) continue;  // handled above
        ++starts;
        log::warn("the node step died ({}); starting it again",
                  describe_node_death(captured_output(capture.get()), *node_code));
        // Only the last attempt's output can explain a failure.
        if (::ftruncate(capture.get(), 0) != 0 || ::lseek(capture.get(), 0, SEEK_SET) != 0) throw_errno("reset memfd");
        node = ChildProcess::spawn(plan.node_step, node_options);
        node_code.reset();
        continue;
      }
      if (*node_code != 0) {
        // No container on some node: the ranks there would wait for nothing.
        app.terminate(kGraceMs);
        report_node_failure(capture.get(), *node_code, verbose, starts);
        return *node_code;
      }
    }
    if (fds[0].revents & POLLIN) break;
  }
  int app_code = app.wait();
  // A node step that failed at the same time (a holder gone while its ranks
  // were joining) is why the ranks failed: say so, not only the ranks' error.
  if (!node_code && app_code != 0) node_code = node.wait_for(kNodeStepFailureMs);
  if (node_code && *node_code != 0) {
    report_node_failure(capture.get(), *node_code, verbose, starts);
    return app_code;
  }
  // Holders exit once their ranks have, and the node step with them; a rank
  // that never joined keeps its holder waiting, so release it after a while.
  // A failed app step may have left ranks that never joined: release at once.
  if (!node_code && (app_code != 0 || !node.wait_for(kNodeStepExitMs))) node.terminate(kGraceMs);
  if (!verbose) report_node_messages(capture.get(), app_code != 0);
  return app_code;
}

}  // namespace hl::launcher
