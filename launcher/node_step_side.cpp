// The node step as the front end sees it: a launcher (srun or mpirun) of
// one hpclaunch-node task per node, whose output is kept to explain a
// failure, restarted when it crashed before any container was ready.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>

#include <set>

#include <fmt/format.h>

#include "common/env.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "launcher/node_side.hpp"
#include "image/image_metadata.hpp"
#include "wireup/holder_protocol.hpp"
#include "wireup/launch_spec.hpp"

namespace hl::launcher {
namespace {

constexpr int kGraceMs = 5000;
constexpr int kNodeStepExitMs = 3000;
constexpr int kNodeStepFailureMs = 300;
// Open MPI 4.1.4's MPI_Init used to crash node steps now and then; PMIx has
// not, but a node step killed by a signal before its containers were ready
// is still started again, at most twice. (srun reports SIGTERM, 143, when
// --kill-on-bad-exit stopped the other nodes.)
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
  std::string launcher_line;  // srun's or mpirun's word on which task ended
  std::string own_error;      // the node step's own reason, when it gave one
  for (const auto& line : split(output, '\n')) {
    bool srun_task_line = line.starts_with("srun: error: ") && line.find(": task") != std::string::npos &&
                          line.find("Terminated") == std::string::npos;
    if (launcher_line.empty() && (srun_task_line || line.starts_with("mpirun noticed"))) launcher_line = line;
    bool ours = line.find("error: ") != std::string::npos && !line.starts_with("srun") &&
                !line.starts_with("slurmstepd") && !line.starts_with("mpirun");
    if (own_error.empty() && ours) own_error = line;
  }
  std::string text = describe_exit(code);
  if (!launcher_line.empty()) text += ": " + launcher_line;
  if (!own_error.empty()) text += "; " + own_error;
  return text;
}

bool is_message(const std::string& line) { return line.find(wireup::kContainersReadyLine) == std::string::npos; }

class NodeStepSide : public NodeSide {
 public:
  // `plan.image_identity`: run_plan's one read of the image, for every start.
  NodeStepSide(const LaunchPlan& plan, const SpawnOptions& options, bool verbose)
      : plan_(plan), options_(options), verbose_(verbose), output_(verbose) {
    if (!plan.image_identity) throw Error("internal: the node step was planned without the image's identity");
    if (!options_.env) options_.env = env_assignments(environment_of_this_process());
    options_.env->push_back(image_identity_assignment(*plan.image_identity));
    // The serve gate needs the launcher to give every node step our stdin:
    // srun --input=all does; Open MPI 4.1.4's mpirun --stdin all delivers
    // nothing (and its own fence does not lose contributions).
    gated_ = !plan.node_step.empty() && plan.node_step.front() == "srun";
    if (gated_) options_.env->push_back(fmt::format("{}=stdin", wireup::kServeGateVariable));
  }

  void start() override {
    log::info("node step: {}", fmt::join(plan_.node_step, " "));
    options_.stdout_fd = options_.stderr_fd = output_.write_fd();
    // The serve gate: the launcher (srun --input=all, mpirun --stdin all)
    // gives every node step what we write here.
    int gate[2];
    if (::pipe2(gate, O_CLOEXEC) != 0) throw_errno("pipe2");
    UniqueFd gate_read(gate[0]);
    gate_ = UniqueFd(gate[1]);
    options_.stdin_fd = gate_read.get();
    node_ = ChildProcess::spawn(plan_.node_step, options_);
    options_.stdin_fd = -1;
    output_.close_write_end();
    output_open_ = true;
    go_sent_ = false;
  }

  void add_pollfds(std::vector<pollfd>& fds) const override {
    fds.push_back({code_ ? -1 : node_.pidfd(), POLLIN, 0});
    fds.push_back({output_open_ ? output_.read_fd() : -1, POLLIN, 0});
  }

  std::optional<int> on_events(const pollfd* mine, const ChildProcess& app, int signals) override {
    if (mine[1].revents & (POLLIN | POLLHUP)) output_open_ = output_.drain();
    if (mine[0].revents & POLLIN) return ended(app, signals);
    if (gated_ && !go_sent_ && output_.every_node_ready()) say_go();
    return std::nullopt;
  }

  int finish(int app_code) override {
    // A node step that failed at the same time (a holder gone while its ranks
    // were joining) is why the ranks failed: say so, not only the ranks' error.
    if (!code_ && app_code != 0) {
      drain_output(0);
      code_ = node_.wait_for(kNodeStepFailureMs);
    }
    if (code_ && *code_ != 0) {
      if (app_code != 0) report_failure();
      return app_code;
    }
    // Holders exit once their ranks have, and the node step with them; a rank
    // that never joined keeps its holder waiting, so release it after a while.
    // A failed app step may have left ranks that never joined: release at once.
    if (!code_) {
      drain_output(app_code != 0 ? 0 : kNodeStepExitMs);
      if (app_code != 0 || !node_.wait_for(kNodeStepExitMs)) node_.terminate(kGraceMs);
    }
    drain_output(0);
    if (!verbose_) print_hpclaunch_lines(output_.text(), app_code != 0 ? is_problem_line : is_warning_line);
    return app_code;
  }

  void stop(int grace_ms) override {
    node_.signal(SIGTERM);
    node_.terminate(grace_ms);
  }

 private:
  // Every node's container is ready and every node step knows it: let the
  // holders serve. From here on ranks may be inside containers.
  void say_go() {
    std::string line = std::string(wireup::kGoLine) + "\n";
    go_sent_ = true;
    if (::write(gate_.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      log::warn("could not tell the node step to serve: {}", std::strerror(errno));
    }
  }

  void drain_output(int ms) {
    while (output_open_) {
      pollfd fd{output_.read_fd(), POLLIN, 0};
      if (::poll(&fd, 1, ms) <= 0) return;
      output_open_ = output_.drain();
    }
  }

  std::optional<int> ended(const ChildProcess& app, int signals) {
    drain_output(kNodeStepFailureMs);
    code_ = node_.wait();
    if (*code_ == 0) return std::nullopt;
    if (go_sent_ || output_.containers_ready()) {
      // Ranks may be inside containers now: their holders serve them to the
      // end without the node step, and starting it again would build a second
      // set of containers under running ranks.
      log::warn("the node step died ({}) after every container was ready; the holders go on serving the ranks",
                describe_node_death(output_.text(), *code_));
      return std::nullopt;
    }
    // Holders let ranks in only after our "go", so a node step killed by a
    // signal before it (its holders report their own failures as exit
    // statuses) left no rank behind, even when only some nodes saw their
    // fence complete: the ranks still waiting join the new one. Not when the
    // app step is over already.
    if (killed_by_signal(*code_) && starts_ <= kNodeStepRestarts && !has_exited(app)) {
      if (signal_arrives(signals, kStopSignalWaitMs)) return std::nullopt;  // the loop stops the job
      ++starts_;
      log::warn("the node step died ({}); starting it again", describe_node_death(output_.text(), *code_));
      output_.clear();  // only the last attempt's output can explain a failure
      output_.reopen();
      start();
      code_.reset();
      return std::nullopt;
    }
    report_failure();  // no container on some node: the ranks there would wait for nothing
    return *code_;
  }

  void report_failure() {
    const std::string& text = output_.text();
    if (killed_by_signal(*code_)) {
      log::error("the node step died ({}){}", describe_node_death(text, *code_),
                 starts_ > 1 ? fmt::format("; started {} times", starts_) : "");
    }
    if (verbose_) return;
    bool any = text.find("hpclaunch:") != std::string::npos;
    print_hpclaunch_lines(text, is_message);
    if (!any) {
      if (!killed_by_signal(*code_)) {
        log::error("the node step failed ({}) without an hpclaunch message", describe_exit(*code_));
      }
      log::error("launcher output of the node step:");
      ::dprintf(STDERR_FILENO, "%s", text.c_str());
    }
  }

  const LaunchPlan& plan_;
  SpawnOptions options_;
  bool verbose_;
  StepOutput output_;
  bool output_open_ = false;
  ChildProcess node_;
  bool gated_ = false;    // the node steps wait for our "go" (srun only)
  UniqueFd gate_;         // the node step's stdin: "go" once every node is ready
  bool go_sent_ = false;  // ranks may be inside containers
  std::optional<int> code_;
  int starts_ = 1;
};

}  // namespace

std::string image_identity_assignment(const image::ImageMetadata& identity) {
  return fmt::format("{}={}", wireup::kImageIdentityVariable, nlohmann::json(identity).dump());
}

void print_hpclaunch_lines(const std::string& output, bool (*wanted)(const std::string&)) {
  std::set<std::string> seen;
  for (const auto& line : split(output, '\n')) {
    if (line.starts_with("hpclaunch:") && wanted(line) && seen.insert(line).second) {
      ::dprintf(STDERR_FILENO, "%s\n", line.c_str());
    }
  }
}

bool is_warning_line(const std::string& line) { return line.find(" warning: ") != std::string::npos; }
bool is_problem_line(const std::string& line) {
  return line.find(" warning: ") != std::string::npos || line.find(" error: ") != std::string::npos;
}

std::unique_ptr<NodeSide> make_node_step_side(const LaunchPlan& plan, const SpawnOptions& options, bool verbose) {
  return std::make_unique<NodeStepSide>(plan, options, verbose);
}

}  // namespace hl::launcher
