#pragma once
// A child process that must be reaped: the destructor kills (SIGKILL) and
// reaps a child that is still running, so no failure path leaks processes.
// Every child of hpclaunch goes through here: programs (spawn), functions
// run in a forked copy of a single-threaded parent (run_in_child), and
// daemons that must outlive us (SpawnOptions::detach).
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"

namespace hl {

struct SpawnOptions {
  // fd in the parent -> fd number in the child (e.g. {sock, 3}); -1 keeps.
  std::vector<std::pair<int, int>> fd_map;
  int stdout_fd = -1;  // -1: inherit
  int stderr_fd = -1;
  int stdin_fd = -1;
  std::optional<std::vector<std::string>> env;  // nullopt: inherit environ
  int parent_death_signal = 0;                  // PR_SET_PDEATHSIG
  // A daemon: new session, reparented to init (double fork), nobody's child.
  // spawn() returns once it has exec'd; the returned object owns nothing.
  bool detach = false;
};

// A pollable fd that becomes readable when `pid` exits (-1 on error, errno set).
UniqueFd open_pidfd(pid_t pid);

// Decoded wait status in shell convention: exit code, or 128+signal.
int exit_code_from_wait_status(int status);
// Such a code that means "killed by signal N" (128+N).
bool killed_by_signal(int code);
// "exit 3", or "SIGSEGV" for 139.
std::string describe_exit(int code);

class ChildProcess {
 public:
  ChildProcess() = default;
  // fork + execvp(argv[0]). A failure between fork and exec comes back over
  // a CLOEXEC pipe as {stage, errno} and is thrown here, naming the program
  // and the step ("cannot run `x`: exec: No such file or directory").
  static ChildProcess spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});
  // fork, then `body` in the child; its return value is the exit status.
  // Only for single-threaded parents (after fork only the calling thread
  // exists: a lock another thread held would stay locked). An exception
  // escaping `body` is printed as one line and exits 1.
  static ChildProcess run_in_child(const std::function<int()>& body, int parent_death_signal = 0);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const noexcept { return pid_; }
  bool running() const noexcept { return pid_ > 0; }
  // pidfd (pollable: readable when the child exits).
  int pidfd() const noexcept { return pidfd_.get(); }
  void signal(int sig) const noexcept;
  // Blocks until exit; returns the shell-style exit code.
  int wait();
  // Non-blocking: the exit code if the child has exited.
  std::optional<int> try_wait();
  // Waits up to timeout_ms for the child to exit by itself.
  std::optional<int> wait_for(int timeout_ms);
  // SIGTERM, then SIGKILL after grace_ms; returns the exit code.
  int terminate(int grace_ms);
  // Lets the child go on without us (a named container's node step, which
  // outlives the launch that started it): it is no longer killed or reaped
  // here, and is reparented when we exit.
  void release() noexcept;

 private:
  // Takes ownership of `pid`; if no pidfd can be opened the child is killed
  // and reaped before the error propagates.
  explicit ChildProcess(pid_t pid);
  pid_t pid_ = -1;
  UniqueFd pidfd_;
};

}  // namespace hl
