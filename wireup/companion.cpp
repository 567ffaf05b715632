#include "wireup/companion.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tuple>

#include <fmt/format.h>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/self_path.hpp"
#include "common/strings.hpp"
#include "wireup/holder_protocol.hpp"
#include "wireup/join.hpp"
#include "wireup/join_protocol.hpp"
#include "wireup/rendezvous.hpp"

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

CompanionNode lock_companion_node(const PrivateDir& runtime, const std::string& group) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    CompanionNode n;
    std::tie(n.group, n.node) = runtime.group_member(group, host_name());
    n.lock = UniqueFd(::openat(n.node.fd(), "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!n.lock) {
      if (errno == ENOENT) continue;  // removed between subdir() and openat()
      throw_errno("open", n.node.path() + "/lock");
    }
    if (::flock(n.lock.get(), LOCK_EX) != 0) throw_errno("flock", n.node.path() + "/lock");
    struct stat st {};
    if (::fstat(n.lock.get(), &st) != 0) throw_errno("stat", n.node.path() + "/lock");
    if (st.st_nlink > 0) return n;  // else the daemon removed the directory while we waited
  }
  throw Error(fmt::format("cannot lock the companion directory of `{}`", group));
}

void run_exec(LaunchSpec launch, const std::vector<std::string>& command) {
  EnvList env = environment_of_this_process();
  JoinSpec& join = launch.join;
  join.rendezvous_group = companion_group(env);
  if (request_from_environment(env).local_size == 0) join.local_size = 1;
  join.quiet_unless_first = true;
  {
    // Exactly one task of the step per node finds nobody listening and
    // starts the holder; the others (and late tasks) join it.
    CompanionNode node = lock_companion_node(open_runtime_dir(env), join.rendezvous_group);
    if (auto listener = listen_rendezvous_if_free(node.node)) {
      log::info("first task on this node: starting the container holder");
      start_daemon_holder(std::move(*listener), launch);
    }
  }
  run_join(join, command);
}

}  // namespace hl::wireup
