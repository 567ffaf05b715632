#include "wireup/companion.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/self_path.hpp"
#include "wireup/holder_protocol.hpp"
#include "wireup/join.hpp"
#include "wireup/join_protocol.hpp"
#include "wireup/rendezvous_socket.hpp"

namespace hl::wireup {
namespace {

// Detached (new session, reparented to init) so that it is nobody's child:
// the app the task execs must not see it, and it must outlive the task. Its
// stdio goes to /dev/null unless -v: srun waits for every copy of a task's
// output pipe to close.
void start_daemon_holder(UniqueFd listener, const LaunchSpec& launch) {
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) throw_errno("open", "/dev/null");
  EnvList env = environment_of_this_process();
  env_set(env, kLaunchSpecVariable, encode(launch));
  SpawnOptions options;
  options.detach = true;
  options.fd_map = {{listener.get(), kCompanionListenerFd}};
  options.stdin_fd = options.stdout_fd = null.get();
  if (!launch.verbose) options.stderr_fd = null.get();
  options.env = env_assignments(env);
  ChildProcess::spawn({sibling_binary("hpclaunch-node"), "companion-holder"}, options);
}

}  // namespace

std::string companion_rendezvous_name(uid_t uid, const EnvList& env) {
  std::string job = env_value(env, "SLURM_JOB_ID");
  std::string step = env_value(env, "SLURM_STEP_ID");
  std::string key;
  if (!job.empty()) {
    key = job + "." + (step.empty() ? "batch" : step);
  } else if (!env_value(env, "PMIX_NAMESPACE").empty()) {
    key = env_value(env, "PMIX_NAMESPACE");  // mpirun -n N hpclaunch exec ...
  } else {
    key = fmt::format("pid{}", ::getpid());  // a single task on its own
  }
  return rendezvous_name(uid, key, "exec");
}

void run_exec(LaunchSpec launch, const std::vector<std::string>& command) {
  EnvList env = environment_of_this_process();
  JoinSpec& join = launch.join;
  join.socket_name = companion_rendezvous_name(::getuid(), env);
  if (request_from_environment(env).local_size == 0) join.local_size = 1;
  join.quiet_unless_first = true;
  // bind() on the abstract name is atomic and per network namespace (node):
  // exactly one task of the step per node wins and starts the holder.
  if (auto listener = try_listen_rendezvous(join.socket_name)) {
    log::info("first task on this node: starting the container holder");
    start_daemon_holder(std::move(*listener), launch);
  }
  run_join(join, command);
}

}  // namespace hl::wireup
