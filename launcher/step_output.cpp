#include "launcher/step_output.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "wireup/holder_protocol.hpp"

namespace hl::launcher {
namespace {

// Enough for every hpclaunch line of a 1000-node step, not a flood.
constexpr std::size_t kKeptBytes = 4 << 20;

}  // namespace

StepOutput::StepOutput(bool echo) : echo_(echo) { reopen(); }

StepOutput::StepOutput(bool echo, const std::string& path) : echo_(echo) {
  write_ = UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!write_) throw_errno("create", path);
  file_ = UniqueFd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!file_) throw_errno("open", path);
  ::lseek(file_.get(), 0, SEEK_END);  // what earlier steps wrote there is theirs
  read_ = UniqueFd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!read_) throw_errno("inotify_init1");
  if (::inotify_add_watch(read_.get(), path.c_str(), IN_MODIFY) < 0) throw_errno("inotify_add_watch", path);
}

void StepOutput::reopen() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  read_ = UniqueFd(fds[0]);
  write_ = UniqueFd(fds[1]);
  if (::fcntl(read_.get(), F_SETFL, O_NONBLOCK) != 0) throw_errno("fcntl(O_NONBLOCK)");
}

bool StepOutput::drain() {
  char buffer[65536];
  if (file_) {
    // Consume the inotify events, then read what the file has now: it never
    // ends (the step may write again), so we are never at EOF.
    while (::read(read_.get(), buffer, sizeof buffer) > 0) {
    }
    ssize_t n;
    while ((n = ::read(file_.get(), buffer, sizeof buffer)) > 0) take(buffer, static_cast<std::size_t>(n));
    return true;
  }
  while (true) {
    ssize_t n = ::read(read_.get(), buffer, sizeof buffer);
    if (n > 0) {
      take(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {
      if (!partial_.empty()) partial_ += '\n';
      take_lines();
      return false;
    }
    if (errno == EINTR) continue;
    return true;  // EAGAIN: all read for now
  }
}

void StepOutput::take(const char* data, std::size_t size) {
  if (echo_) {
    ssize_t ignored = ::write(STDERR_FILENO, data, size);
    (void)ignored;
  }
  partial_.append(data, size);
  take_lines();
}

void StepOutput::take_lines() {
  auto end = partial_.rfind('\n');
  if (end == std::string::npos) return;
  std::string lines = partial_.substr(0, end + 1);
  partial_.erase(0, end + 1);
  for (const auto& line : split(lines, '\n')) {
    if (line.starts_with("hpclaunch: ") && line.find(wireup::kContainersReadyLine) != std::string::npos) {
      containers_ready_ = true;
    }
    take_node_ready(line);
  }
  text_ += lines;
  if (text_.size() > kKeptBytes) {
    auto cut = text_.find('\n', text_.size() - kKeptBytes);
    text_.erase(0, cut == std::string::npos ? text_.size() : cut + 1);
  }
}

// "hpclaunch-node-ready RANK SIZE"; anything else (or out of range) is not one.
void StepOutput::take_node_ready(const std::string& line) {
  std::string prefix = std::string(wireup::kNodeReadyLine) + " ";
  if (!line.starts_with(prefix)) return;
  auto words = split(line.substr(prefix.size()), ' ');
  if (words.size() != 2) return;
  int rank = 0;
  int size = 0;
  try {
    size = static_cast<int>(parse_integer(words[1], "node step size", 1, 1 << 20));
    rank = static_cast<int>(parse_integer(words[0], "node step rank", 0, size - 1));
  } catch (const Error&) {
    return;
  }
  if (ready_size_ != 0 && size != ready_size_) return;
  ready_size_ = size;
  ready_ranks_.insert(rank);
}

void StepOutput::clear() {
  text_.clear();
  partial_.clear();
  containers_ready_ = false;
  ready_ranks_.clear();
  ready_size_ = 0;
}

}  // namespace hl::launcher
