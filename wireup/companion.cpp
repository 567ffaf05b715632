#include "wireup/companion.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/log.hpp"
#include "wireup/holder.hpp"
#include "wireup/join_protocol.hpp"
#include "wireup/rendezvous_socket.hpp"

namespace hl::wireup {
namespace {

// Detached from the task (double fork, new session) so that it is nobody's
// child: the app the task execs must not see it, and it must outlive the
// task. Its stdio goes to /dev/null unless -v: srun waits for every copy of
// a task's output pipe to close.
void start_daemon_holder(UniqueFd listener, const NodeSpec& spec) {
  pid_t intermediate = ::fork();
  if (intermediate < 0) throw_errno("fork");
  if (intermediate == 0) {
    ::setsid();
    pid_t daemon = ::fork();
    if (daemon != 0) std::_Exit(daemon < 0 ? 1 : 0);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    if (!spec.verbose) ::dup2(null, STDERR_FILENO);
    int code = 1;
    try {
      code = run_daemon_holder(std::move(listener), spec);
    } catch (const Error& e) {
      log::error("holder: {}", e.describe());
    }
    std::_Exit(code);
  }
  int status = 0;
  while (::waitpid(intermediate, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

std::string companion_rendezvous_name(uid_t uid, const image::EnvList& env) {
  std::string job = image::env_value(env, "SLURM_JOB_ID");
  std::string step = image::env_value(env, "SLURM_STEP_ID");
  std::string key;
  if (!job.empty()) {
    key = job + "." + (step.empty() ? "batch" : step);
  } else if (!image::env_value(env, "PMIX_NAMESPACE").empty()) {
    key = image::env_value(env, "PMIX_NAMESPACE");  // mpirun -n N hpclaunch exec ...
  } else {
    key = fmt::format("pid{}", ::getpid());  // a single task on its own
  }
  return rendezvous_name(uid, key, "exec");
}

void run_exec(const NodeSpec& given, JoinOptions join) {
  image::EnvList env = environment_of_this_process();
  NodeSpec spec = given;
  spec.socket_name = companion_rendezvous_name(::getuid(), env);
  if (request_from_environment(env).local_size == 0) join.local_size = 1;
  // bind() on the abstract name is atomic and per network namespace (node):
  // exactly one task of the step per node wins and starts the holder.
  if (auto listener = try_listen_rendezvous(spec.socket_name)) {
    log::info("first task on this node: starting the container holder");
    start_daemon_holder(std::move(*listener), spec);
  }
  join.socket_name = spec.socket_name;
  join.quiet_unless_first = true;
  run_join(join);
}

}  // namespace hl::wireup
