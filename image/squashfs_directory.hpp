#pragma once
// Directory listings, read with names bounded by the format. libsquashfuse
// 0.1.105 copies each name with the 16-bit size from the image into the
// caller's 257-byte buffer (stack smashing on a size of 0x2000), and its
// lookup copies index names with a 32-bit size; its fast-forward computes
// block offsets it never checks. Names here are at most 256 bytes
// (SQUASHFS_NAME_LEN), headers at most 256 entries, and nothing may run past
// the listing size in the inode.
#include <array>
#include <cstdint>
#include <string_view>

#include "image/squashfs_image.hpp"
#include "image/squashfs_inode.hpp"

namespace hl::image::squashfs {

struct DirectoryEntry {
  std::string_view name;  // NUL-terminated, valid until the listing's next call
  std::uint64_t inode_ref = 0;
  std::uint16_t type = 0;
  std::uint64_t next_offset = 0;  // where a later readdir resumes
};

class DirectoryListing {
 public:
  // `dir` must be a directory inode; the listing starts at its first entry.
  DirectoryListing(Image& image, const Inode& dir);

  // Moves to `offset`: 0, or a next_offset this directory gave. Uses the
  // directory index to skip ahead. Throws CorruptImage when no entry ends there.
  void seek(std::uint64_t offset);
  // The next entry; false at the end of the listing.
  bool next(DirectoryEntry& entry);
  // The entry called `name`. mksquashfs sorts entries (strcmp order), so the
  // search stops at the first greater name, and the index skips whole blocks.
  bool find(std::string_view name, DirectoryEntry& entry);

 private:
  void rewind();
  // Jumps to the last index entry for which `before(listing offset, first
  // name of that block)` holds.
  template <typename Before>
  void skip_with_index(Before before);
  std::string_view read_name(MetadataCursor& cursor, Region region, std::uint32_t size_field, const char* what);

  Image& image_;
  const Inode& dir_;
  MetadataCursor cursor_;
  std::uint64_t position_ = 0;  // bytes of the listing read: headers and entries
  std::uint64_t total_ = 0;
  std::uint32_t remaining_ = 0;  // entries left under the current header
  std::uint32_t header_block_ = 0;
  std::array<char, 257> name_{};  // the longest name and a NUL
};

}  // namespace hl::image::squashfs
