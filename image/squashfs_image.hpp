#pragma once
// A squashfs image opened with libsquashfuse, read through bounds-checked
// primitives only. libsquashfuse 0.1.105 trusts the image (DESIGN.md §2): its
// metadata reader copies past a block that decompressed short, its table
// lookups index past their arrays, its directory and xattr code copy names
// with sizes from the image into fixed buffers. So the library is used for
// what it does safely once its inputs are bounded — opening (after the
// superblock and every table position were checked), fetching, decompressing
// and caching blocks — and everything that interprets bytes is ours, here and
// in squashfs_inode/directory/file/xattr.cpp.
//
// Internal to the reader: anything inconsistent throws CorruptImage, which
// SquashfsReader turns into EIO.
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "image/superblock.hpp"

struct sqfs;

namespace hl::image::squashfs {

class CorruptImage : public Error {
 public:
  using Error::Error;
};

// A position in a metadata table: the file offset of a metadata block (its
// 2-byte header) and an offset into its decompressed bytes.
struct MetadataCursor {
  std::uint64_t block = 0;
  std::uint32_t offset = 0;
};

// Where a metadata read may go: each table's blocks lie in their own range.
enum class Region { kInodes, kDirectories, kTables, kXattrs };

struct FragmentEntry {
  std::uint64_t start = 0;
  std::uint32_t header = 0;  // size | kUncompressedData
};

struct XattrIdEntry {
  std::uint64_t pairs = 0;  // reference into the xattr pairs table
  std::uint32_t count = 0;
  std::uint32_t size = 0;
};

inline constexpr std::uint32_t kUncompressedData = 1u << 24;

class Image {
 public:
  // Checks the superblock, the table positions and the file size, opens the
  // image with libsquashfuse on `fd` (not owned; other Images may share it)
  // and reads the uid/gid table. Throws hl::Error naming `path`.
  // `file_size` is the image's length as the caller already checked it (rank
  // 0's one stat, broadcast): the holders do not stat the shared file again.
  // `offset`: where the squashfs starts in the file (a SIF's partition; the
  // library adds it to every read), `file_size` then the partition's size.
  Image(int fd, std::string path, std::uint64_t file_size, std::uint64_t offset = 0);
  // Another libsquashfuse handle on the same fd, for another serving thread
  // (the library is not thread-safe): the checks `checked` passed stand, so
  // nothing is stat'ed or parsed again.
  static std::unique_ptr<Image> another_handle(const Image& checked);
  ~Image();
  Image(Image&&) noexcept;
  Image& operator=(Image&&) noexcept;

  const Superblock& superblock() const { return sb_; }
  const std::string& path() const { return path_; }
  bool has_xattrs() const { return sb_.has_xattrs(); }
  std::uint32_t xattr_id_count() const { return xattr_ids_.id_count; }
  std::uint64_t xattr_pairs_start() const { return xattr_ids_.pairs_start; }

  // Copies `size` bytes at `cursor` (which advances) out of metadata blocks
  // that must lie in `region`; `out` may be null to skip them.
  void read_metadata(MetadataCursor& cursor, Region region, void* out, std::size_t size);
  template <std::size_t N>
  std::array<std::uint8_t, N> read_metadata(MetadataCursor& cursor, Region region) {
    std::array<std::uint8_t, N> bytes;
    read_metadata(cursor, region, bytes.data(), N);
    return bytes;
  }

  std::uint32_t id(std::uint16_t index) const;  // uid or gid
  FragmentEntry fragment(std::uint32_t index);
  XattrIdEntry xattr_id(std::uint32_t index);

  // The decompressed bytes of the data block (file contents, or a fragment
  // block) at `position` with size word `header`; valid until the next call.
  std::span<const std::uint8_t> data_block(std::uint64_t position, std::uint32_t header, bool fragment);

  [[noreturn]] void corrupt(const std::string& detail) const;

 private:
  template <std::size_t N>
  std::array<std::uint8_t, N> table_entry(const std::uint64_t* blocks, std::uint64_t count, std::uint64_t index,
                                          const char* table);
  Image() = default;
  void open_library(int fd, const SuperblockBytes& bytes, std::uint64_t offset);
  void read_id_table();

  std::string path_;
  int fd_ = -1;
  std::uint64_t offset_ = 0;  // of the squashfs in the file (a SIF's partition)
  SuperblockBytes bytes_{};
  Superblock sb_;
  XattrIdTable xattr_ids_;
  std::unique_ptr<sqfs, void (*)(sqfs*)> fs_{nullptr, nullptr};
  std::vector<std::uint32_t> ids_;
};

// Bytes libsquashfuse read from images in this process (every handle).
std::uint64_t bytes_read_by_library();
void count_library_read(std::uint64_t bytes);

// Little-endian fields of on-disk structures.
template <typename T, std::size_t N>
T field(const std::array<std::uint8_t, N>& bytes, std::size_t offset) {
  static_assert(sizeof(T) <= N);
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(bytes[offset + i]) << (8 * i);
  return value;
}

}  // namespace hl::image::squashfs
