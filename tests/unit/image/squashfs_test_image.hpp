#pragma once
// Helpers for the SquashfsReader tests: the seed images of the fuzz corpus
// (tests/fuzz/corpus/squashfs_reader, made by tests/fuzz/make-squashfs-seeds),
// served from a memfd, and byte edits of the uncompressed one.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.hpp"
#include "image/squashfs_reader.hpp"

namespace hl::image::testing {

using Node = SquashfsReader::Node;

inline std::vector<std::uint8_t> read_seed(const std::string& name) {
  std::ifstream in(std::string(HL_FUZZ_CORPUS) + "/squashfs_reader/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("no seed image " + name);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The bytes as an image file: readers pread it like the real one.
class ImageFile {
 public:
  explicit ImageFile(const std::vector<std::uint8_t>& bytes)
      : fd_(memfd_create("test.sqsh", MFD_CLOEXEC)), size_(bytes.size()) {
    if (!fd_ || ::write(fd_.get(), bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
      throw std::runtime_error("memfd");
    }
  }
  int fd() const { return fd_.get(); }
  SquashfsReader reader() const { return SquashfsReader(fd_.get(), "test.sqsh", size_); }

 private:
  UniqueFd fd_;
  std::uint64_t size_;
};

// Follows `path` ("dir/b.bin") from the root; 0 and `*err` set when a lookup fails.
inline Node resolve(SquashfsReader& reader, std::string_view path, int* err = nullptr) {
  Node node = SquashfsReader::kRootNode;
  while (!path.empty()) {
    std::string name(path.substr(0, path.find('/')));
    path = path.substr(std::min(path.size(), name.size() + 1));
    struct stat st {};
    int e = reader.lookup(node, name, node, st);
    if (e != 0) {
      if (err != nullptr) *err = e;
      return 0;
    }
  }
  return node;
}

inline std::vector<std::string> list(SquashfsReader& reader, Node dir, int* err = nullptr) {
  std::vector<std::string> names;
  int e = reader.readdir(dir, 0, [&](std::string_view name, Node, mode_t, std::uint64_t) {
    names.emplace_back(name);
    return true;
  });
  if (err != nullptr) *err = e;
  return names;
}

inline std::string read_all(SquashfsReader& reader, Node file, std::size_t chunk = 4096, int* err = nullptr) {
  std::string out;
  std::vector<char> buffer(chunk);
  for (;;) {
    std::size_t got = 0;
    int e = reader.read(file, out.size(), buffer, got);
    if (err != nullptr) *err = e;
    if (e != 0 || got == 0) return out;
    out.append(buffer.data(), got);
  }
}

// mini-raw (mksquashfs -noI -noD -noF -noX): every structure lies in the
// file as it is read, so a test can find one and change it.
class RawImage {
 public:
  RawImage() : bytes(read_seed("mini-raw")) {}
  explicit RawImage(const std::string& seed) : bytes(read_seed(seed)) {}

  std::uint64_t get(std::size_t at, int width) const {
    std::uint64_t v = 0;
    for (int i = 0; i < width; ++i) v |= std::uint64_t{bytes.at(at + i)} << (8 * i);
    return v;
  }
  void set(std::size_t at, int width, std::uint64_t v) {
    for (int i = 0; i < width; ++i) bytes.at(at + i) = static_cast<std::uint8_t>(v >> (8 * i));
  }
  std::uint64_t inode_table() const { return get(64, 8); }
  std::uint64_t directory_table() const { return get(72, 8); }

  // The first occurrence of `text` at or after `from`.
  std::size_t find(std::string_view text, std::size_t from = 0) const {
    auto it = std::search(bytes.begin() + from, bytes.end(), text.begin(), text.end(),
                          [](std::uint8_t byte, char c) { return byte == static_cast<std::uint8_t>(c); });
    if (it == bytes.end()) throw std::runtime_error("not in the image: " + std::string(text));
    return it - bytes.begin();
  }
  // The directory entry named `name`: offset u16, inode number delta,
  // type u16, name size - 1 (u16), then the name.
  std::size_t entry(std::string_view name) const {
    for (std::size_t at = find(name, directory_table());; at = find(name, at + 1)) {
      if (get(at - 2, 2) == name.size() - 1) return at - 8;
    }
  }
  // That entry's inode: in the inode table's first block (after its 2-byte header).
  std::size_t inode(std::string_view name) const { return inode_table() + 2 + get(entry(name), 2); }
  // Where a (block << 16 | offset) reference into a table lies: after the
  // block's 2-byte header, as every block is stored uncompressed.
  std::size_t at(std::uint64_t table, std::uint64_t ref) const { return table + (ref >> 16) + 2 + (ref & 0xffff); }
  std::size_t root_inode() const { return at(inode_table(), get(32, 8)); }

  std::vector<std::uint8_t> bytes;
};

}  // namespace hl::image::testing
