#include "common/error.hpp"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace hl {
namespace {

// The fixes we know for kernel refusals users actually hit on clusters.
std::string hint_for(int err, std::string_view op, std::string_view path) {
  if (path == "/dev/fuse" && (err == EACCES || err == EPERM)) {
    return "make /dev/fuse usable by users: chmod 666 /dev/fuse (scripts/setup does it); run `hpclaunch doctor`";
  }
  if (path == "/dev/fuse" && err == ENOENT) {
    return "load the fuse kernel module: modprobe fuse; run `hpclaunch doctor`";
  }
  if (op.starts_with("unshare") && (err == EPERM || err == ENOSPC || err == EINVAL)) {
    return "unprivileged user namespaces must be enabled "
           "(sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1); run `hpclaunch doctor`";
  }
  if (op.starts_with("mount") && err == ENOSPC) {
    return "too many mounts: raise fs.mount-max";
  }
  return {};
}

}  // namespace

Error system_error(int err, std::string_view op, std::string_view path) {
  std::string message = path.empty() ? fmt::format("{}: {}", op, std::strerror(err))
                                     : fmt::format("{} `{}`: {}", op, path, std::strerror(err));
  return Error(message, hint_for(err, op, path));
}

void throw_errno(std::string_view op, std::string_view path) {
  int err = errno;
  throw system_error(err, op, path);
}

void rethrow_with_context(const Error& e, std::string_view context) {
  throw Error(fmt::format("{}: {}", context, e.what()), e.hint(), e.exit_code());
}

}  // namespace hl
