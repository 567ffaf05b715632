#include "launcher/frontend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <set>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/private_dir.hpp"
#include "common/signals.hpp"
#include "common/strings.hpp"
#include "launcher/step_output.hpp"
#include "wireup/holder_protocol.hpp"
#include "wireup/rendezvous.hpp"

namespace hl::launcher {
namespace {

constexpr int kGraceMs = 5000;
constexpr int kNodeStepExitMs = 3000;
constexpr int kNodeStepFailureMs = 300;
// Open MPI 4.1.4's MPI_Init segfaults now and then under load (about 1 launch
// in 100 on 2 busy cores, a NULL call in btl_tcp while MPI_Init progresses):
// a node step killed by a signal before its containers were ready is started
// again, at most twice. (srun reports SIGTERM, 143, when --kill-on-bad-exit
// stopped the other nodes.)
constexpr int kNodeStepRestarts = 2;
constexpr int kStopSignalWaitMs = 200;

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

// Our own "hpclaunch:" lines of the node step's output, each once (all of
// its output with -v: it was shown live then).
void print_hpclaunch_lines(const std::string& output, bool (*wanted)(const std::string&)) {
  std::set<std::string> seen;
  for (const auto& line : split(output, '\n')) {
    if (line.starts_with("hpclaunch:") && wanted(line) && seen.insert(line).second) {
      ::dprintf(STDERR_FILENO, "%s\n", line.c_str());
    }
  }
}

bool is_message(const std::string& line) { return line.find(wireup::kContainersReadyLine) == std::string::npos; }
bool is_warning(const std::string& line) { return line.find(" warning: ") != std::string::npos; }
bool is_problem(const std::string& line) {
  return line.find(" warning: ") != std::string::npos || line.find(" error: ") != std::string::npos;
}

void report_node_failure(const StepOutput& output, int code, bool verbose, int starts) {
  const std::string& text = output.text();
  if (killed_by_signal(code)) {
    log::error("the node step died ({}){}", describe_node_death(text, code),
               starts > 1 ? fmt::format("; started {} times", starts) : "");
  }
  if (verbose) return;
  bool any = text.find("hpclaunch:") != std::string::npos;
  print_hpclaunch_lines(text, is_message);
  if (!any) {
    if (!killed_by_signal(code)) log::error("the node step failed ({}) without an hpclaunch message", describe_exit(code));
    log::error("launcher output of the node step:");
    ::dprintf(STDERR_FILENO, "%s", text.c_str());
  }
}

int stop_job(ChildProcess& app, ChildProcess& node, int signal_number) {
  app.signal(SIGTERM);
  node.signal(SIGTERM);
  app.terminate(kGraceMs);
  node.terminate(kGraceMs);
  return 128 + signal_number;
}

// Both steps and what the front end knows about them.
class Launch {
 public:
  Launch(const LaunchPlan& plan, bool verbose) : plan_(plan), verbose_(verbose), output_(verbose) {
    EnvList common = env_overlay(environment_of_this_process(), plan.step_env);
    null_ = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null_) throw_errno("open", "/dev/null");
    // A front end killed with -9 takes its steps with it (srun cancels them,
    // mpirun kills its ranks), so nothing runs on unsupervised.
    node_options_.env = env_assignments(env_overlay(common, plan.node_env));
    node_options_.stdin_fd = null_.get();
    node_options_.parent_death_signal = SIGTERM;
    app_options_.env = env_assignments(env_overlay(common, plan.app_env));
    app_options_.parent_death_signal = SIGTERM;
  }

  int run(int signals);

 private:
  void start_node_step() {
    node_options_.stdout_fd = node_options_.stderr_fd = output_.write_fd();
    node_ = ChildProcess::spawn(plan_.node_step, node_options_);
    output_.close_write_end();
    output_open_ = true;
  }
  // Reads the node step's output until its end, for up to `ms`.
  void drain_output(int ms);
  // The node step ended; nullopt to go on, else the launch's exit code.
  std::optional<int> node_step_ended(int signals);
  int finish();

  const LaunchPlan& plan_;
  bool verbose_;
  StepOutput output_;
  bool output_open_ = false;
  UniqueFd null_;
  SpawnOptions node_options_;
  SpawnOptions app_options_;
  ChildProcess node_;
  ChildProcess app_;
  std::optional<int> node_code_;
  int starts_ = 1;
};

void Launch::drain_output(int ms) {
  while (output_open_) {
    pollfd fd{output_.read_fd(), POLLIN, 0};
    if (::poll(&fd, 1, ms) <= 0) return;
    output_open_ = output_.drain();
  }
}

std::optional<int> Launch::node_step_ended(int signals) {
  drain_output(kNodeStepFailureMs);
  node_code_ = node_.wait();
  if (*node_code_ == 0) return std::nullopt;
  if (output_.containers_ready()) {
    // Ranks may be inside containers now: their holders serve them to the
    // end without the node step, and starting it again would build a second
    // set of containers under running ranks.
    log::warn("the node step died ({}) after every container was ready; the holders go on serving the ranks",
              describe_node_death(output_.text(), *node_code_));
    return std::nullopt;
  }
  // Holders let ranks in only after every node is ready, so a node step
  // killed by a signal (its holders report their own failures as exit
  // statuses) left no rank behind: the ranks still waiting join the new
  // one. Not when the app step is over already.
  if (killed_by_signal(*node_code_) && starts_ <= kNodeStepRestarts && !has_exited(app_)) {
    if (signal_arrives(signals, kStopSignalWaitMs)) return std::nullopt;  // the loop stops the job
    ++starts_;
    log::warn("the node step died ({}); starting it again", describe_node_death(output_.text(), *node_code_));
    output_.clear();  // only the last attempt's output can explain a failure
    output_.reopen();
    start_node_step();
    node_code_.reset();
    return std::nullopt;
  }
  // No container on some node: the ranks there would wait for nothing.
  app_.terminate(kGraceMs);
  report_node_failure(output_, *node_code_, verbose_, starts_);
  return *node_code_;
}

int Launch::run(int signals) {
  log::info("node step: {}", fmt::join(plan_.node_step, " "));
  start_node_step();
  app_ = ChildProcess::spawn(plan_.app_step, app_options_);
  while (true) {
    std::vector<pollfd> fds = {{app_.pidfd(), POLLIN, 0},
                               {signals, POLLIN, 0},
                               {node_code_ ? -1 : node_.pidfd(), POLLIN, 0},
                               {output_open_ ? output_.read_fd() : -1, POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (fds[3].revents & (POLLIN | POLLHUP)) output_open_ = output_.drain();
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info{};
      ssize_t ignored = ::read(signals, &info, sizeof info);
      (void)ignored;
      log::warn("stopping the job (signal {})", info.ssi_signo);
      return stop_job(app_, node_, static_cast<int>(info.ssi_signo));
    }
    if (fds[2].revents & POLLIN) {
      if (auto code = node_step_ended(signals)) return *code;
    }
    if (fds[0].revents & POLLIN) return finish();
  }
}

int Launch::finish() {
  int app_code = app_.wait();
  // A node step that failed at the same time (a holder gone while its ranks
  // were joining) is why the ranks failed: say so, not only the ranks' error.
  if (!node_code_ && app_code != 0) {
    drain_output(0);
    node_code_ = node_.wait_for(kNodeStepFailureMs);
  }
  if (node_code_ && *node_code_ != 0) {
    if (app_code != 0) report_node_failure(output_, *node_code_, verbose_, starts_);
    return app_code;
  }
  // Holders exit once their ranks have, and the node step with them; a rank
  // that never joined keeps its holder waiting, so release it after a while.
  // A failed app step may have left ranks that never joined: release at once.
  if (!node_code_) {
    drain_output(app_code != 0 ? 0 : kNodeStepExitMs);
    if (app_code != 0 || !node_.wait_for(kNodeStepExitMs)) node_.terminate(kGraceMs);
  }
  drain_output(0);
  if (!verbose_) print_hpclaunch_lines(output_.text(), app_code != 0 ? is_problem : is_warning);
  return app_code;
}

}  // namespace

int run_plan(const LaunchPlan& plan, bool verbose) {
  UniqueFd signals = block_termination_signals();
  // Open MPI's session dirs (mpirun) live in the front end's own directory
  // of this launch; it goes, with whatever a signalled mpirun left in it,
  // once both steps are gone (declared first: destroyed last).
  PrivateDir runtime = open_runtime_dir(environment_of_this_process());
  OwnedDir own_dir = OwnedDir::create(runtime, plan.spec.join.rendezvous_group, front_end_dir_name(host_name()));
  int code = Launch(plan, verbose).run(signals.get());
  // Holders on this host that were killed (with their node step) left their
  // directories; their owner locks are free now.
  runtime.sweep_stale(plan.spec.join.rendezvous_group);
  return code;
}

}  // namespace hl::launcher
