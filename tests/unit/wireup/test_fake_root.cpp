#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/strings.hpp"
#include "wireup/fake_root.hpp"

namespace fs = std::filesystem;

// In a child (the filter cannot be undone): chown reports success and
// changes nothing; mknod of a device reports success and makes nothing;
// a FIFO is still made for real.
TEST(FakeRoot, ChownAndDeviceNodesSucceedWithoutEffect) {
  fs::path dir = fs::temp_directory_path() / ("hl-fakeroot-" + hl::random_hex(6));
  fs::create_directories(dir);
  std::ofstream(dir / "file") << "x";
  struct stat before {};
  ASSERT_EQ(::stat((dir / "file").c_str(), &before), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    hl::wireup::install_fake_root_filter();
    int code = 0;
    if (::chown((dir / "file").c_str(), before.st_uid + 123, before.st_gid + 45) != 0) code |= 1;
    if (::setuid(4242) != 0 || ::getuid() == 4242) code |= 2;
    if (::mknod((dir / "dev").c_str(), S_IFCHR | 0600, makedev(1, 3)) != 0) code |= 4;
    if (::mknod((dir / "fifo").c_str(), S_IFIFO | 0600, 0) != 0) code |= 8;
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "bit 1: chown failed, 2: setuid, 4: mknod of a device, 8: mknod of a FIFO";
  struct stat after {};
  ASSERT_EQ(::stat((dir / "file").c_str(), &after), 0);
  EXPECT_EQ(after.st_uid, before.st_uid) << "the chown must not have happened";
  EXPECT_FALSE(fs::exists(dir / "dev")) << "no device node is made";
  EXPECT_TRUE(fs::exists(dir / "fifo")) << "a FIFO is made for real";
  fs::remove_all(dir);
}
