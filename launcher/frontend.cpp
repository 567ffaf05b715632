#include "launcher/frontend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/private_dir.hpp"
#include "common/signals.hpp"
#include "common/strings.hpp"
#include "launcher/node_side.hpp"
#include "launcher/stage_image.hpp"

namespace hl::launcher {
namespace {

constexpr int kGraceMs = 5000;

// Both steps' spawn options: the same environment (plus each step's own),
// and PR_SET_PDEATHSIG, so that a front end killed with -9 takes its steps
// with it (srun cancels them, mpirun kills its ranks, a holder stops).
std::pair<SpawnOptions, SpawnOptions> step_options(const LaunchPlan& plan, int null_fd) {
  EnvList common = env_overlay(environment_of_this_process(), plan.step_env);
  SpawnOptions node;
  node.env = env_assignments(env_overlay(common, plan.node_env));
  node.stdin_fd = null_fd;
  node.parent_death_signal = SIGTERM;
  SpawnOptions app;
  app.env = env_assignments(env_overlay(common, plan.app_env));
  app.parent_death_signal = SIGTERM;
  return {node, app};
}

int run_both(const LaunchPlan& plan, bool verbose, int signals) {
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null) throw_errno("open", "/dev/null");
  auto [node_options, app_options] = step_options(plan, null.get());
  auto node = plan.local_holder ? make_local_holder_side(plan, node_options, verbose)
                                : make_node_step_side(plan, node_options, verbose);
  node->start();  // first: an image that is missing fails before any rank starts
  ChildProcess app = ChildProcess::spawn(plan.app_step, app_options);
  while (true) {
    std::vector<pollfd> fds = {{app.pidfd(), POLLIN, 0}, {signals, POLLIN, 0}};
    node->add_pollfds(fds);
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info{};
      ssize_t ignored = ::read(signals, &info, sizeof info);
      (void)ignored;
      log::warn("stopping the job (signal {})", info.ssi_signo);
      app.signal(SIGTERM);
      node->stop(kGraceMs);
      app.terminate(kGraceMs);
      return 128 + static_cast<int>(info.ssi_signo);
    }
    if (auto code = node->on_events(fds.data() + 2, app, signals)) {
      app.terminate(kGraceMs);  // no container on some node: the ranks there would wait for nothing
      return *code;
    }
    if (fds[0].revents & POLLIN) return node->finish(app.wait());
  }
}

}  // namespace

int run_plan(const LaunchPlan& planned, bool verbose) {
  UniqueFd signals = block_termination_signals();
  // The image is copied to the nodes first (--stage): the node step's spec
  // then names the copy. Declared first, so its leftovers go last.
  LaunchPlan plan = planned;
  UniqueFd image_fd;  // a missing or truncated image fails here, before any step
  plan.image_identity = image::read_image_metadata(plan.spec.container.image, &image_fd);
  StagedImage staged = StagedImage::stage(plan, image_fd.get());
  image_fd.reset();
  // Open MPI's session dirs (mpirun) live in the front end's own directory
  // of this launch; it goes, with whatever a signalled mpirun left in it,
  // once both steps are gone (declared first: destroyed last).
  PrivateDir runtime = open_runtime_dir(environment_of_this_process());
  OwnedDir own_dir = OwnedDir::create(runtime, plan.spec.join.rendezvous_group, front_end_dir_name(host_name()));
  int code = run_both(plan, verbose, signals.get());
  staged.finished(code);
  // Holders on this host that were killed (with their node step) left their
  // directories; their owner locks are free now.
  runtime.sweep_stale(plan.spec.join.rendezvous_group);
  return code;
}

}  // namespace hl::launcher
