#include "image/user_namespace.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/files.hpp"

namespace hl::image {
namespace {

// An unprivileged writer may map one id, only after denying setgroups.
void write_maps(const std::string& proc, uid_t inside_uid, uid_t outside_uid, gid_t inside_gid, gid_t outside_gid) {
  write_file(proc + "/setgroups", "deny");
  write_file(proc + "/uid_map", fmt::format("{} {} 1\n", inside_uid, outside_uid));
  write_file(proc + "/gid_map", fmt::format("{} {} 1\n", inside_gid, outside_gid));
}

}  // namespace

void enter_root_view_namespace(uid_t uid, gid_t gid) {
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) throw_errno("unshare(user, mount namespace)");
  write_maps("/proc/self", 0, uid, 0, gid);
}

UniqueFd make_user_view_namespace(uid_t uid, gid_t gid) {
  int up[2], down[2];
  if (::pipe2(up, O_CLOEXEC) != 0 || ::pipe2(down, O_CLOEXEC) != 0) throw_errno("pipe2");
  UniqueFd up_read(up[0]), up_write(up[1]), down_read(down[0]), down_write(down[1]);
  // The child unshares, says so, and waits until we have its namespace.
  ChildProcess child = ChildProcess::run_in_child(
      [&] {
        up_read.reset();
        down_write.reset();
        char byte = ::unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
        if (::write(up_write.get(), &byte, 1) != 1) return 1;
        ssize_t ignored = ::read(down_read.get(), &byte, 1);  // EOF: done
        (void)ignored;
        return 0;
      },
      SIGKILL);
  up_write.reset();
  down_read.reset();
  char byte = 0;
  if (::read(up_read.get(), &byte, 1) != 1 || byte != 'y')
    throw Error("cannot create the container's user view (nested user namespace)");
  std::string proc = fmt::format("/proc/{}", child.pid());
  write_maps(proc, uid, 0, gid, 0);
  UniqueFd ns(::open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) throw_errno("open", proc + "/ns/user");
  down_write.reset();
  child.wait();
  return ns;
}

void make_mounts_private() {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) throw_errno("mount --make-rprivate", "/");
}

}  // namespace hl::image
