#pragma once
// File contents: data blocks found through the block size list after the
// inode, the tail in a fragment block. libsquashfuse 0.1.105's
// sqfs_read_range copies from a fragment at the offset the inode gives
// without checking the fragment block's size, copies past data blocks that
// decompressed short, and its block index (keyed by inode number, which the
// image chooses) sizes a malloc from the file size and walks past it. Here
// every copy is bounded by the block it reads, and the block positions
// already computed are kept per inode reference.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "image/squashfs_image.hpp"
#include "image/squashfs_inode.hpp"

namespace hl::image::squashfs {

class FileReader {
 public:
  // Copies up to out.size() bytes of `file` (a regular file) from `offset`;
  // returns how many: fewer at the end of the file, 0 at or past it.
  std::size_t read(Image& image, const Inode& file, std::uint64_t offset, std::span<std::uint8_t> out);

 private:
  // Block `index` of a file: its entry in the size list and where its data starts.
  struct Position {
    std::uint64_t index = 0;
    MetadataCursor size_entry;
    std::uint64_t data = 0;
  };
  struct Positions {
    std::uint64_t ref = ~std::uint64_t{0};
    std::uint64_t used = 0;             // for LRU replacement
    std::vector<Position> checkpoints;  // blocks 0, kCheckpointEvery, 2 * kCheckpointEvery ...
    Position last;                      // where the previous read ended: files are mostly read in order
  };
  Position locate(Image& image, const Inode& file, std::uint64_t index);
  Positions& positions_of(const Inode& file);

  std::array<Positions, 8> files_;
  std::uint64_t clock_ = 0;
};

}  // namespace hl::image::squashfs
