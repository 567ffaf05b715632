#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/strings.hpp"
#include "import/registry/blob_cache.hpp"
#include "import/registry/digest.hpp"

using namespace hl;
using namespace hl::import;

namespace {
const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
}

TEST(BlobCache, DefaultDirectory) {
  EXPECT_EQ(default_cache_dir("/xdg", "/home/u"), "/xdg/hpclaunch");
  EXPECT_EQ(default_cache_dir(nullptr, "/home/u"), "/home/u/.cache/hpclaunch");
  EXPECT_EQ(default_cache_dir("", "/home/u"), "/home/u/.cache/hpclaunch");
  EXPECT_THROW(default_cache_dir(nullptr, nullptr), Error);
}

TEST(BlobCache, Paths) {
  BlobCache cache("/c");
  EXPECT_EQ(cache.blob_path("sha256:" + kHex), "/c/blobs/sha256/" + kHex);
  EXPECT_EQ(cache.partial_path("sha256:" + kHex), "/c/blobs/sha256/" + kHex + ".partial");
  EXPECT_EQ(cache.image_path("sha256:" + kHex), "/c/images/sha256:" + kHex + ".sqsh");
}

TEST(BlobCache, HasBlobChecksSize) {
  std::string root = "/tmp/hl-test-cache-" + random_hex();
  BlobCache cache(root);
  cache.create_directories();
  std::string digest = sha256_digest_of("hello");
  EXPECT_FALSE(cache.has_blob(digest, 5));
  write_file(cache.blob_path(digest), "hello");
  EXPECT_TRUE(cache.has_blob(digest, 5));
  EXPECT_FALSE(cache.has_blob(digest, 6));
  EXPECT_FALSE(cache.has_image(digest));
  remove_tree(root);
}

TEST(BlobCache, InstallFileReplacesAtomically) {
  std::string root = "/tmp/hl-test-install-" + random_hex();
  make_directories(root + "/a/b");
  write_file(root + "/a/src", "image bytes");
  write_file(root + "/a/b/out.sqsh", "old");
  InstallMethod method = install_file(root + "/a/src", root + "/a/b/out.sqsh");
  EXPECT_EQ(method, InstallMethod::Hardlink);  // same file system
  EXPECT_EQ(read_file(root + "/a/b/out.sqsh"), "image bytes");
  EXPECT_THROW(install_file(root + "/missing", root + "/a/b/x.sqsh"), Error);
  EXPECT_THROW(install_file(root + "/a/src", root + "/nodir/x.sqsh"), Error);
  remove_tree(root);
}

TEST(BlobCache, InstallAcrossFileSystemsCopies) {
  // /dev/shm is a tmpfs, /tmp may or may not be: only check the result.
  std::string src = "/dev/shm/hl-test-src-" + random_hex();
  std::string dst = "/tmp/hl-test-dst-" + random_hex();
  write_file(src, std::string(100000, 'x'));
  install_file(src, dst);
  EXPECT_EQ(read_file(dst), std::string(100000, 'x'));
  ::unlink(src.c_str());
  ::unlink(dst.c_str());
}
