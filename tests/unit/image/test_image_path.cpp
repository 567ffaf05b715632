#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "image/image_path.hpp"
#include "tests/unit/error_text.hpp"

using namespace hl;
using namespace hl::image;
namespace fs = std::filesystem;

namespace {

// A little image root: /etc, /var/home, /home -> /var/home, hostile
// /tmp -> /etc and /var/tmp -> ../../etc, a loop.
struct ImageRoot {
  fs::path base = fs::temp_directory_path() / ("hl-img-" + random_hex(6));
  fs::path root = base / "root";
  UniqueFd fd;
  ImageRoot() {
    fs::create_directories(root / "etc");
    fs::create_directories(root / "var" / "home");
    fs::create_directory_symlink("/var/home", root / "home");
    fs::create_directory_symlink("/etc", root / "tmp");
    fs::create_directory_symlink("../../etc", root / "var" / "tmp");
    fs::create_symlink("loop2", root / "loop1");
    fs::create_symlink("loop1", root / "loop2");
    fs::create_directory_symlink("/../../../../outside", root / "escape");
    fd = UniqueFd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  ~ImageRoot() { fs::remove_all(base); }
};

}  // namespace

TEST(ImagePath, FollowsImageSymlinksInsideTheImage) {
  ImageRoot img;
  EXPECT_EQ(resolve_in_image(img.fd.get(), "/home/u/run", false).path, "/var/home/u/run");
  EXPECT_FALSE(resolve_in_image(img.fd.get(), "/home/u/run", false).exists);
  auto etc = resolve_in_image(img.fd.get(), "/var/tmp/x", false);
  EXPECT_EQ(etc.path, "/etc/x") << "a relative link climbing out stops at the image root";
  EXPECT_EQ(resolve_in_image(img.fd.get(), "/escape/y", false).path, "/outside/y");
}

TEST(ImagePath, LastComponentSymlinkIsReportedNotFollowed) {
  ImageRoot img;
  auto tmp = resolve_in_image(img.fd.get(), "/tmp", false);
  EXPECT_EQ(tmp.path, "/tmp");
  EXPECT_TRUE(tmp.exists);
  EXPECT_TRUE(tmp.is_symlink) << "a mount target there is shadowed, not followed to /etc";
  EXPECT_EQ(resolve_in_image(img.fd.get(), "/tmp", true).path, "/etc");
}

TEST(ImagePath, LoopsAreAnError) {
  ImageRoot img;
  EXPECT_EQ(hl::testing::error_text([&] { resolve_in_image(img.fd.get(), "/loop1/x", false); }),
            "image path `/loop1/x`: too many levels of symlinks");
}
