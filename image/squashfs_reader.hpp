#pragma once
// The image's file system as the FUSE operations ask about it, without FUSE:
// image/squashfuse_ops.cpp answers requests with it, and tests/fuzz feeds it
// corrupt images in-process, so the fuzzed code is the served code.
//
// A corrupt image gives EIO for the request that meets the corruption (and
// first_corruption() says what it was), never a crash: every structure is
// read through squashfs::Image's bounds-checked primitives (see there for
// what libsquashfuse 0.1.105 would have done with it).
//
// Each reader has its own libsquashfuse handle and caches on an image fd it
// does not own, so there can be several on one fd (one per FUSE thread).
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace hl::image {

namespace squashfs {
class Image;
class FileReader;
}  // namespace squashfs

class SquashfsReader {
 public:
  // FUSE inode numbers: libsquashfuse's 64-bit mapping, an inode's reference
  // in the inode table, except that the root is 1 and reference 0 is 2.
  using Node = std::uint64_t;
  static constexpr Node kRootNode = 1;

  // Checks the superblock, tables and root directory; throws hl::Error
  // naming `image_path` with a hint to run unsquashfs on it.
  SquashfsReader(int image_fd, std::string image_path, std::uint64_t image_size, std::uint64_t image_offset = 0);
  // A reader of its own on the same image fd, for another serving thread
  // (libsquashfuse 0.1.105 is not thread-safe): its own handle and caches,
  // the checks this one passed standing (no stat, no parsing again).
  std::unique_ptr<SquashfsReader> another() const;
  ~SquashfsReader();
  SquashfsReader(SquashfsReader&&) noexcept;
  SquashfsReader& operator=(SquashfsReader&&) noexcept;

  bool has_xattrs() const;
  struct statvfs statfs() const;

  // Each returns 0 or the errno for the FUSE reply: ENOENT, ENOTDIR,
  // EISDIR, EINVAL (readlink of a non-symlink, read of a device), ENODATA
  // (no such xattr), or EIO for a corrupt image.
  int lookup(Node parent, std::string_view name, Node& child, struct stat& attr);
  int getattr(Node node, struct stat& attr);
  int readlink(Node node, std::string& target);
  // Calls add(name, node, S_IFMT type, next_offset) for each entry from
  // `offset` (0, or a next_offset given before) until add returns false.
  // name.data() is NUL-terminated.
  using DirectoryVisitor = std::function<bool(std::string_view, Node, mode_t, std::uint64_t)>;
  int readdir(Node dir, std::uint64_t offset, const DirectoryVisitor& add);
  // `got` < out.size() only at the end of the file.
  int read(Node file, std::uint64_t offset, std::span<char> out, std::size_t& got);
  int listxattr(Node node, std::string& names);  // "user.a\0trusted.b\0"
  int getxattr(Node node, std::string_view name, std::string& value);

  // What the first EIO stood for ("image `x` is corrupt: ...; check it with
  // `unsquashfs -l x` ..."), "" if none yet.
  const std::string& first_corruption() const { return first_corruption_; }

 private:
  explicit SquashfsReader(std::unique_ptr<squashfs::Image> image);
  template <typename Operation>
  int guarded(Operation operation);
  std::uint64_t ref_of(Node node) const;
  Node node_of(std::uint64_t ref) const;

  std::unique_ptr<squashfs::Image> image_;
  std::unique_ptr<squashfs::FileReader> files_;
  std::string first_corruption_;
};

}  // namespace hl::image
