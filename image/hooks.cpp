#include "image/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <fmt/format.h>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/files.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "image/etc_files.hpp"

namespace hl::image {
namespace {

constexpr std::size_t kMaxKeptOutput = 64 * 1024;  // a chatty hook must not fill the holder's memory
constexpr std::size_t kMaxQuoted = 400;
constexpr std::uint64_t kMaxHookEnviron = 1 << 20;

using Clock = std::chrono::steady_clock;

// Reads the hook's output until EOF or the deadline, keeping its tail.
// false: the deadline passed first.
bool collect_output(int fd, Clock::time_point deadline, std::string& kept) {
  char buffer[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw_errno("poll hook output");
    if (ready == 0) return false;
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    kept.append(buffer, static_cast<std::size_t>(n));
    if (kept.size() > kMaxKeptOutput) kept.erase(0, kept.size() - kMaxKeptOutput);
  }
}

EnvList read_hook_environ(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return {};  // a hook may remove it: nothing to add
  return parse_environment_file(
      read_regular_file(fd.get(), fmt::format("`{}` (HPCLAUNCH_HOOK_ENVIRON)", path), kMaxHookEnviron));
}

void run_one(const ContainerSpec& spec, const HookSpec& hook, const std::string& root, const std::string& environ) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_errno("pipe");
  UniqueFd out_read(pipe_fds[0]);
  UniqueFd out_write(pipe_fds[1]);
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null) throw_errno("open", "/dev/null");
  SpawnOptions options;
  options.stdin_fd = null.get();
  options.stdout_fd = options.stderr_fd = out_write.get();
  options.env = env_assignments(hook_environment(environment_of_this_process(), spec, hook, root, environ));
  options.parent_death_signal = SIGKILL;
  ChildProcess child = ChildProcess::spawn({"/bin/sh", hook.path}, options);
  out_write.reset();
  std::string output;
  auto deadline = Clock::now() + std::chrono::seconds(spec.hook_timeout_s);
  bool finished = collect_output(out_read.get(), deadline, output);
  std::optional<int> code =
      finished ? child.wait_for(static_cast<int>(std::max<long>(
                     1, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count())))
               : std::nullopt;
  if (!code) {
    child.terminate(1000);
    throw Error(hook_failure_message(hook, fmt::format("timed out after {} s", spec.hook_timeout_s), output),
                "fix the hook, or remove it from hooks.d");
  }
  if (*code != 0) {
    throw Error(hook_failure_message(hook, describe_exit(*code), output), "fix the hook, or remove it from hooks.d");
  }
  for (const auto& line : split(output, '\n')) {
    if (!line.empty()) log::info("hook {}: {}", hook.name, line);
  }
}

}  // namespace

EnvList hook_environment(const EnvList& base, const ContainerSpec& spec, const HookSpec& hook, const std::string& root,
                         const std::string& environ_file) {
  EnvList env;
  for (const auto& [k, v] : base) {
    if (!k.starts_with("HPCLAUNCH_INTERNAL_")) env.emplace_back(k, v);
  }
  for (const auto& [k, v] : spec.hook_env) env_set(env, k, v);
  env_set(env, "HPCLAUNCH_ROOTFS", root);
  env_set(env, "HPCLAUNCH_IMAGE", spec.image);
  env_set(env, "HPCLAUNCH_HOOK_ENVIRON", environ_file);
  env_set(env, "HPCLAUNCH_HOOK_NAME", hook.name);
  return env;
}

std::string hook_failure_message(const HookSpec& hook, const std::string& how, std::string_view output) {
  std::vector<std::string> lines;
  for (const auto& line : split(output, '\n')) {
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    std::string clean;
    for (char c : line.substr(first)) clean += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
    while (!clean.empty() && clean.back() == ' ') clean.pop_back();
    lines.push_back(std::move(clean));
  }
  std::string quoted;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::string next = quoted.empty() ? *it : *it + "; " + quoted;
    if (next.size() > kMaxQuoted) {
      if (quoted.empty()) quoted = "..." + it->substr(it->size() - kMaxQuoted);
      break;
    }
    quoted = std::move(next);
  }
  std::string head = fmt::format("hook `{}` ({}) failed ({})", hook.name, hook.origin, how);
  return quoted.empty() ? head + " with no output" : head + ": " + quoted;
}

EnvList run_hooks(const ContainerSpec& spec, const std::string& root, const std::string& scratch) {
  if (spec.hooks.empty()) return {};
  std::string environ = scratch + "/hook-environ";
  write_file(environ, "", 0600);
  for (const auto& hook : spec.hooks) {
    log::info("running hook {}", hook.name);
    run_one(spec, hook, root, environ);
  }
  return read_hook_environ(environ);
}

}  // namespace hl::image
