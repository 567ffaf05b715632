#pragma once
// One exception type for every failure hpclaunch reports. It carries the
// message a user sees ("mount `/x`: Operation not permitted") and, when we
// know the fix, a hint. main() catches it once and prints one line.
#include <stdexcept>
#include <string>
#include <string_view>

namespace hl {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, std::string hint = {}, int exit_code = 1)
      : std::runtime_error(message), hint_(std::move(hint)), exit_code_(exit_code) {}
  const std::string& hint() const noexcept { return hint_; }
  // The status hpclaunch exits with: 127 for a program not found, as shells do.
  int exit_code() const noexcept { return exit_code_; }
  // "message; hint" — the one line users see.
  std::string describe() const { return hint_.empty() ? what() : std::string(what()) + "; " + hint_; }

 private:
  std::string hint_;
  int exit_code_;
};

// Builds "op `path`: strerror(err)" (path part omitted when empty) and a hint
// for the errno values whose fix we know (EPERM on unshare, EACCES on /dev/fuse).
Error system_error(int err, std::string_view op, std::string_view path = {});

// Throws system_error(errno, ...). Call right after the failing syscall.
[[noreturn]] void throw_errno(std::string_view op, std::string_view path = {});

// Re-throws `e` with "context: " in front of its message, keeping the hint.
[[noreturn]] void rethrow_with_context(const Error& e, std::string_view context);

}  // namespace hl
