// The launch errors that a doctor check explains send the user there.
#include <gtest/gtest.h>

#include <cerrno>

#include "common/error.hpp"

using namespace hl;

TEST(ErrorHints, FuseAndUserNamespaceErrorsNameDoctor) {
  EXPECT_EQ(system_error(EACCES, "cannot open", "/dev/fuse").describe(),
            "cannot open `/dev/fuse`: Permission denied; make /dev/fuse usable by users: chmod 666 /dev/fuse "
            "(scripts/setup does it); run `hpclaunch doctor`");
  EXPECT_TRUE(
      system_error(ENOENT, "cannot open", "/dev/fuse").describe().ends_with("modprobe fuse; run `hpclaunch doctor`"));
  EXPECT_TRUE(system_error(EPERM, "unshare(user, mount namespace)").describe().ends_with("; run `hpclaunch doctor`"));
  // Errors no doctor check covers keep their own hint alone.
  EXPECT_EQ(system_error(ENOSPC, "mount tmpfs", "/x").hint(), "too many mounts: raise fs.mount-max");
}
