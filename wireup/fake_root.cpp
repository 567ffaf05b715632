#include "wireup/fake_root.hpp"

#include <seccomp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/unique_handle.hpp"

namespace hl::wireup {
namespace {

void release(scmp_filter_ctx ctx) { seccomp_release(ctx); }
using Filter = UniqueHandle<scmp_filter_ctx, release>;

void check(int rc, const char* what) {
  if (rc < 0) throw Error(fmt::format("seccomp: {}: {}", what, std::strerror(-rc)));
}

}  // namespace

void install_fake_root_filter() {
  Filter filter(seccomp_init(SCMP_ACT_ALLOW));
  if (!filter) throw Error("seccomp: cannot create a filter");
  // "Succeed" = fail with errno 0: the call returns 0 and does nothing.
  const auto succeed = SCMP_ACT_ERRNO(0);
  for (int call : {SCMP_SYS(chown), SCMP_SYS(fchown), SCMP_SYS(lchown), SCMP_SYS(fchownat), SCMP_SYS(setuid),
                   SCMP_SYS(setgid), SCMP_SYS(setreuid), SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid),
                   SCMP_SYS(setfsuid), SCMP_SYS(setfsgid), SCMP_SYS(setgroups)}) {
    check(seccomp_rule_add(filter.get(), succeed, call, 0), "rule");
  }
  // Device nodes only: a FIFO or a regular file made with mknod is real.
  for (unsigned type : {unsigned(S_IFCHR), unsigned(S_IFBLK)}) {
    check(seccomp_rule_add(filter.get(), succeed, SCMP_SYS(mknod), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, S_IFMT, type)),
          "mknod rule");
    check(seccomp_rule_add(filter.get(), succeed, SCMP_SYS(mknodat), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, type)),
          "mknodat rule");
  }
  check(seccomp_load(filter.get()), "load");
}

}  // namespace hl::wireup
