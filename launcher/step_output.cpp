#include "launcher/step_output.hpp"

#include <fcntl.h>
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

void StepOutput::reopen() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  read_ = UniqueFd(fds[0]);
  write_ = UniqueFd(fds[1]);
  if (::fcntl(read_.get(), F_SETFL, O_NONBLOCK) != 0) throw_errno("fcntl(O_NONBLOCK)");
}

bool StepOutput::drain() {
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(read_.get(), buffer, sizeof buffer);
    if (n > 0) {
      if (echo_) {
        ssize_t ignored = ::write(STDERR_FILENO, buffer, static_cast<std::size_t>(n));
        (void)ignored;
      }
      partial_.append(buffer, static_cast<std::size_t>(n));
      take_lines();
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

void StepOutput::take_lines() {
  auto end = partial_.rfind('\n');
  if (end == std::string::npos) return;
  std::string lines = partial_.substr(0, end + 1);
  partial_.erase(0, end + 1);
  for (const auto& line : split(lines, '\n')) {
    if (line.starts_with("hpclaunch: ") && line.find(wireup::kContainersReadyLine) != std::string::npos) {
      containers_ready_ = true;
    }
  }
  text_ += lines;
  if (text_.size() > kKeptBytes) {
    auto cut = text_.find('\n', text_.size() - kKeptBytes);
    text_.erase(0, cut == std::string::npos ? text_.size() : cut + 1);
  }
}

void StepOutput::clear() {
  text_.clear();
  partial_.clear();
  containers_ready_ = false;
}

}  // namespace hl::launcher
