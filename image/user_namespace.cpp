#include "image/user_namespace.hpp"

#include <sched.h>
#include <sys/mount.h>

#include <cerrno>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/strings.hpp"

namespace hl::image {

void enter_user_and_mount_namespace(uid_t uid, gid_t gid) {
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) throw_errno("unshare(user, mount namespace)");
  // setgroups must be denied before an unprivileged process may write gid_map.
  write_file("/proc/self/setgroups", "deny");
  write_file("/proc/self/uid_map", fmt::format("{} {} 1\n", uid, uid));
  write_file("/proc/self/gid_map", fmt::format("{} {} 1\n", gid, gid));
}

void make_mounts_private() {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) throw_errno("mount --make-rprivate", "/");
}

}  // namespace hl::image
