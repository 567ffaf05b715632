#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/files.hpp"
#include "common/private_dir.hpp"
#include "common/strings.hpp"
#include "tests/unit/error_text.hpp"

using namespace hl;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("hl-unit-" + random_hex(6));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

void touch(const fs::path& p, const std::string& text = "x") { std::ofstream(p) << text; }

}  // namespace

TEST(Files, RemoveTreeNeverFollowsASymlink) {
  TempDir t;
  fs::create_directories(t.path / "victim");
  touch(t.path / "victim" / "precious");
  fs::create_directories(t.path / "tree" / "a" / "b");
  touch(t.path / "tree" / "a" / "b" / "f");
  // What the attack did: a subdirectory swapped for a symlink to someone's data.
  fs::create_directory_symlink(t.path / "victim", t.path / "tree" / "a" / "link");
  EXPECT_TRUE(remove_tree((t.path / "tree").string()));
  EXPECT_FALSE(fs::exists(t.path / "tree"));
  EXPECT_TRUE(fs::exists(t.path / "victim" / "precious")) << "the symlink's target must survive";
}

TEST(Files, ReadRegularFileRefusesFifosAndHugeFiles) {
  TempDir t;
  ::mkfifo((t.path / "fifo").c_str(), 0600);
  int fd = ::open((t.path / "fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(hl::testing::error_text([&] { read_regular_file(fd, "image file /etc/passwd", 100); }),
            "image file /etc/passwd is not a regular file (a FIFO)");
  ::close(fd);
  touch(t.path / "big", std::string(200, 'x'));
  fd = ::open((t.path / "big").c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_EQ(hl::testing::error_text([&] { read_regular_file(fd, "big", 100); }), "big is larger than 100 bytes");
  ::close(fd);
}

TEST(Files, AtomicWriteReplacesWhole) {
  TempDir t;
  write_file_atomic((t.path / "f").string(), "one");
  write_file_atomic((t.path / "f").string(), "two");
  EXPECT_EQ(read_file((t.path / "f").string()), "two");
  EXPECT_EQ(std::distance(fs::directory_iterator(t.path), fs::directory_iterator{}), 1) << "no temp file left";
}

TEST(PrivateDir, CreatesMode0700AndNarrowsOurOwn) {
  TempDir t;
  PrivateDir d = PrivateDir::open((t.path / "rt").string());
  struct stat st {};
  ASSERT_EQ(::stat((t.path / "rt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ::chmod((t.path / "rt").c_str(), 0777);
  PrivateDir again = PrivateDir::open((t.path / "rt").string());
  ASSERT_EQ(::stat((t.path / "rt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "a widened dir of ours is narrowed again";
}

TEST(PrivateDir, RefusesASymlink) {
  TempDir t;
  fs::create_directories(t.path / "elsewhere");
  fs::create_directory_symlink(t.path / "elsewhere", t.path / "rt");
  EXPECT_EQ(hl::testing::error_text([&] { PrivateDir::open((t.path / "rt").string()); }),
            fmt::format("private directory `{}` is a symlink or not a directory", (t.path / "rt").string()));
}

TEST(PrivateDir, RuntimeDirRule) {
  EXPECT_EQ(runtime_dir_path({{"HPCLAUNCH_RUNTIME_DIR", "/x/rt"}}, 7, true), "/x/rt");
  EXPECT_EQ(runtime_dir_path({{"XDG_RUNTIME_DIR", "/run/user/7"}}, 7, true), "/run/user/7/hpclaunch");
  EXPECT_EQ(runtime_dir_path({{"XDG_RUNTIME_DIR", "/run/user/7"}}, 7, false), "/tmp/hpclaunch-7")
      << "an XDG_RUNTIME_DIR that is missing or not private on this node is not used";
  EXPECT_EQ(runtime_dir_path({{"TMPDIR", "/scratch/tmp"}}, 7, false), "/scratch/tmp/hpclaunch-7");
}

// A node step started again on a node where the old holder is still going
// away: the new owner of the same name waits for it, and the old one's
// cleanup cannot remove what the new one made.
TEST(PrivateDir, SameNameWaitsForThePreviousOwnerToGo) {
  TempDir t;
  PrivateDir runtime = PrivateDir::open((t.path / "rt").string());
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t old_owner = ::fork();
  ASSERT_GE(old_owner, 0);
  if (old_owner == 0) {
    {
      OwnedDir dir = OwnedDir::create(runtime, "l-9", "node1");
      touch(fs::path(dir.path()) / "rendezvous");
      char c = 'r';
      (void)!::write(ready[1], &c, 1);
      ::usleep(300 * 1000);
    }  // its cleanup: the whole directory
    ::_exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  OwnedDir mine = OwnedDir::create(runtime, "l-9", "node1");
  int status = 0;
  EXPECT_EQ(::waitpid(old_owner, &status, WNOHANG), old_owner) << "created while the previous owner still lived";
  touch(fs::path(mine.path()) / "rendezvous", "new");
  EXPECT_TRUE(fs::exists(fs::path(mine.path()) / "owner.lock"));
  std::ifstream in(fs::path(mine.path()) / "rendezvous");
  std::string text;
  in >> text;
  EXPECT_EQ(text, "new");
}

// A dead owner's directory of the same name is removed before it is taken.
TEST(PrivateDir, SameNameOfADeadOwnerStartsEmpty) {
  TempDir t;
  PrivateDir runtime = PrivateDir::open((t.path / "rt").string());
  {
    PrivateDir dead = runtime.subdir("l-9").subdir("node1");
    UniqueFd lock = dead.claim();
    touch(fs::path(dead.path()) / "stale-socket");
  }
  OwnedDir mine = OwnedDir::create(runtime, "l-9", "node1");
  EXPECT_FALSE(fs::exists(fs::path(mine.path()) / "stale-socket"));
}

TEST(PrivateDir, SweepRemovesOnlyDirsOfDeadOwners) {
  TempDir t;
  PrivateDir runtime = PrivateDir::open((t.path / "rt").string());
  OwnedDir live = OwnedDir::create(runtime, "l-1", "alive");
  {
    // A dead owner: its lock fd is gone (as when the process was killed).
    PrivateDir dead = runtime.subdir("l-1").subdir("dead");
    UniqueFd lock = dead.claim();
    touch(fs::path(dead.path()) / "socket");
  }
  runtime.sweep_stale("l-1");
  EXPECT_TRUE(fs::exists(t.path / "rt" / "l-1" / "alive"));
  EXPECT_FALSE(fs::exists(t.path / "rt" / "l-1" / "dead"));
  live.remove();
  EXPECT_FALSE(fs::exists(t.path / "rt" / "l-1")) << "the group goes with its last member";
}
