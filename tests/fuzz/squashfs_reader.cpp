// The served read path (image/squashfs_reader.hpp) on any bytes as an image:
// open it, walk the tree as the kernel would (readdir in small pieces so the
// resume offsets are used, lookup of every name, getattr, readlink, reads at
// block edges, every xattr), with bounded work per input.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "image/squashfs_reader.hpp"
#include "image/superblock.hpp"
#include "tests/fuzz/entries.hpp"

namespace hl::fuzz {
namespace {

using image::SquashfsReader;
using Node = SquashfsReader::Node;

constexpr std::size_t kMaxNodes = 128;
constexpr std::size_t kMaxEntriesPerDirectory = 300;
constexpr std::uint64_t kMaxReadPerFile = 1 << 16;

// Inputs that libFuzzer shortened keep their superblock's size, so the
// rest of the image is still read (zeros) instead of stopping at the size check.
std::uint64_t image_length(const std::uint8_t* data, std::size_t size) {
  std::uint64_t length = size;
  if (size >= image::kSuperblockSize) {
    std::uint64_t bytes_used = 0;
    std::memcpy(&bytes_used, data + 40, sizeof bytes_used);
    length = std::max<std::uint64_t>(size, std::min<std::uint64_t>(bytes_used, 1 << 20));
  }
  return length;
}

// One memfd for every input: the reader reads the image with pread.
int image_fd(const std::uint8_t* data, std::size_t size) {
  static int fd = memfd_create("fuzz.sqsh", MFD_CLOEXEC);
  std::uint64_t length = image_length(data, size);
  if (ftruncate(fd, 0) != 0 || ftruncate(fd, static_cast<off_t>(length)) != 0 ||
      pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
    return -1;
  }
  return fd;
}

void read_file(SquashfsReader& reader, Node node, std::uint64_t size, std::uint32_t block_size) {
  std::vector<char> buffer(6000);
  std::size_t got = 0;
  for (std::uint64_t offset = 0; offset < std::min(size, kMaxReadPerFile); offset += buffer.size()) {
    if (reader.read(node, offset, buffer, got) != 0 || got == 0) break;
  }
  // Edges: around the first block boundaries, the middle (past the block
  // list checkpoints of large files), the last bytes, past the end.
  std::uint64_t block = block_size;
  for (std::uint64_t at : {block - 1, 3 * block - 7, size / 2, size - block - 1, size - 1, size, size + 9}) {
    reader.read(node, at, std::span(buffer).first(16), got);
  }
}

void visit_xattrs(SquashfsReader& reader, Node node) {
  std::string names;
  if (reader.listxattr(node, names) != 0) return;
  std::string value;
  for (std::size_t at = 0; at < names.size(); at += std::strlen(names.c_str() + at) + 1) {
    reader.getxattr(node, names.c_str() + at, value);
  }
  reader.getxattr(node, "user.not-there", value);
  reader.getxattr(node, "trusted.overlay.opaque", value);
}

// Readdir three entries at a time, as a kernel with a small buffer would.
std::vector<std::string> list_directory(SquashfsReader& reader, Node node) {
  std::vector<std::string> names;
  std::uint64_t offset = 0;
  bool more = true;
  while (more && names.size() < kMaxEntriesPerDirectory) {
    int taken = 0;
    more = false;
    int err = reader.readdir(node, offset, [&](std::string_view name, Node, mode_t, std::uint64_t next) {
      if (taken == 3) {
        more = true;
        return false;
      }
      ++taken;
      names.emplace_back(name);
      offset = next;
      return true;
    });
    if (err != 0) break;
  }
  return names;
}

void walk(SquashfsReader& reader, std::uint32_t block_size) {
  std::deque<Node> queue{SquashfsReader::kRootNode};
  std::set<Node> seen{SquashfsReader::kRootNode};
  while (!queue.empty() && seen.size() <= kMaxNodes) {
    Node node = queue.front();
    queue.pop_front();
    struct stat st {};
    if (reader.getattr(node, st) != 0) continue;
    visit_xattrs(reader, node);
    std::string target;
    if (S_ISLNK(st.st_mode)) reader.readlink(node, target);
    if (S_ISREG(st.st_mode)) read_file(reader, node, static_cast<std::uint64_t>(st.st_size), block_size);
    if (!S_ISDIR(st.st_mode)) continue;
    std::vector<std::string> names = list_directory(reader, node);
    names.push_back("zz-not-there");
    for (const auto& name : names) {
      Node child = 0;
      if (reader.lookup(node, name, child, st) == 0 && seen.insert(child).second) queue.push_back(child);
    }
  }
}

}  // namespace

int squashfs_reader(const std::uint8_t* data, std::size_t size) {
  int fd = image_fd(data, size);
  if (fd < 0) return 0;
  try {
    SquashfsReader reader(fd, "fuzz.sqsh", image_length(data, size));
    reader.statfs();
    std::uint32_t block_size = 0;
    std::memcpy(&block_size, data + 12, sizeof block_size);
    walk(reader, block_size);
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace hl::fuzz
