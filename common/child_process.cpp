#include "common/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/log.hpp"

extern char** environ;

namespace hl {
namespace {

struct CStrings {
  std::vector<std::string> storage;
  std::vector<char*> pointers;
  explicit CStrings(const std::vector<std::string>& strings) : storage(strings) {
    for (auto& s : storage) pointers.push_back(s.data());
    pointers.push_back(nullptr);
  }
};

// The step between fork and exec that failed, sent with its errno.
enum class Stage : int { parent_death_signal, new_session, detach_fork, stdin, stdout, stderr, fd_map, exec };

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::parent_death_signal:
      return "prctl(PR_SET_PDEATHSIG)";
    case Stage::new_session:
      return "setsid";
    case Stage::detach_fork:
      return "fork (detach)";
    case Stage::stdin:
      return "dup2 (stdin)";
    case Stage::stdout:
      return "dup2 (stdout)";
    case Stage::stderr:
      return "dup2 (stderr)";
    case Stage::fd_map:
      return "dup2 (inherited fd)";
    case Stage::exec:
      return "exec";
  }
  return "?";
}

struct ChildFailure {
  Stage stage;
  int err;
};

// Runs in the child between fork and exec: async-signal-safe calls only, no
// allocation, no exceptions; failures go to the parent as {stage, errno}.
[[noreturn]] void exec_child(const SpawnOptions& options, char* const* argv, char* const* envp, int error_pipe) {
  auto fail = [error_pipe](Stage stage) {
    ChildFailure failure{stage, errno};
    ssize_t ignored = ::write(error_pipe, &failure, sizeof failure);
    (void)ignored;
    _exit(127);
  };
  if (options.parent_death_signal != 0 && ::prctl(PR_SET_PDEATHSIG, options.parent_death_signal) != 0) {
    fail(Stage::parent_death_signal);
  }
  if (options.detach) {
    if (::setsid() < 0) fail(Stage::new_session);
    pid_t daemon = ::fork();
    if (daemon < 0) fail(Stage::detach_fork);
    if (daemon > 0) _exit(0);  // the daemon's parent is init from here on
  }
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  if (options.stdin_fd >= 0 && ::dup2(options.stdin_fd, STDIN_FILENO) < 0) fail(Stage::stdin);
  if (options.stdout_fd >= 0 && ::dup2(options.stdout_fd, STDOUT_FILENO) < 0) fail(Stage::stdout);
  if (options.stderr_fd >= 0 && ::dup2(options.stderr_fd, STDERR_FILENO) < 0) fail(Stage::stderr);
  for (const auto& [from, to] : options.fd_map) {
    if (from == to) {
      int flags = ::fcntl(from, F_GETFD);
      if (flags < 0 || ::fcntl(from, F_SETFD, flags & ~FD_CLOEXEC) < 0) fail(Stage::fd_map);
    } else if (::dup2(from, to) < 0) {
      fail(Stage::fd_map);
    }
  }
  if (envp != nullptr) environ = const_cast<char**>(envp);
  ::execvp(argv[0], argv);
  fail(Stage::exec);
  _exit(127);  // not reached: tells the compiler this function never returns
}

// What the child reported before exec, if anything (EOF: it exec'd).
std::optional<ChildFailure> read_failure(int pipe) {
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(pipe, &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof failure) return failure;
  return std::nullopt;
}

}  // namespace

UniqueFd open_pidfd(pid_t pid) {
  // glibc 2.36's <sys/pidfd.h> has no C++ linkage: call the kernel directly.
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

int exit_code_from_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

bool killed_by_signal(int code) { return code > 128 && code < 128 + 65; }

std::string describe_exit(int code) {
  if (!killed_by_signal(code)) return fmt::format("exit {}", code);
  const char* name = ::sigabbrev_np(code - 128);
  return name != nullptr ? fmt::format("SIG{}", name) : fmt::format("signal {}", code - 128);
}

ChildProcess::ChildProcess(pid_t pid) : pid_(pid), pidfd_(open_pidfd(pid)) {
  if (!pidfd_) {
    int err = errno;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    throw system_error(err, "pidfd_open");
  }
}

ChildProcess ChildProcess::spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) throw Error("spawn: empty command line");
  CStrings args(argv);
  std::optional<CStrings> env;
  if (options.env) env.emplace(*options.env);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) exec_child(options, args.pointers.data(), env ? env->pointers.data() : nullptr, write_end.get());
  ChildProcess child(pid);
  write_end.reset();
  auto failure = read_failure(read_end.get());
  // A detached daemon's first child exits at once: reap it, own nothing.
  if (options.detach) child.wait();
  if (failure) {
    if (child.running()) child.wait();
    throw system_error(failure->err, fmt::format("cannot run `{}`: {}", argv[0], stage_name(failure->stage)));
  }
  return child;
}

ChildProcess ChildProcess::run_in_child(const std::function<int()>& body, int parent_death_signal) {
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    int code = 1;
    try {
      if (parent_death_signal != 0) ::prctl(PR_SET_PDEATHSIG, parent_death_signal);
      code = body();
    } catch (const Error& e) {
      log::error("{}", e.describe());
    } catch (const std::exception& e) {
      log::error("{}", e.what());
    }
    _exit(code);
  }
  return ChildProcess(pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (running()) terminate(0);
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (running()) terminate(0);
}

void ChildProcess::signal(int sig) const noexcept {
  if (pid_ > 0) ::kill(pid_, sig);
}

int ChildProcess::wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) throw_errno("waitpid");
  }
  pid_ = -1;
  pidfd_.reset();
  return exit_code_from_wait_status(status);
}

std::optional<int> ChildProcess::try_wait() {
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return std::nullopt;
  if (r < 0) throw_errno("waitpid");
  pid_ = -1;
  pidfd_.reset();
  return exit_code_from_wait_status(status);
}

std::optional<int> ChildProcess::wait_for(int timeout_ms) {
  if (!running()) return 0;
  pollfd p{pidfd_.get(), POLLIN, 0};
  while (::poll(&p, 1, timeout_ms) < 0 && errno == EINTR) {
  }
  return try_wait();
}

void ChildProcess::release() noexcept {
  pid_ = -1;
  pidfd_.reset();
}

int ChildProcess::terminate(int grace_ms) {
  if (!running()) return 0;
  if (grace_ms > 0) {
    signal(SIGTERM);
    pollfd p{pidfd_.get(), POLLIN, 0};
    ::poll(&p, 1, grace_ms);
  }
  if (auto code = try_wait()) return *code;
  signal(SIGKILL);
  return wait();
}

}  // namespace hl
