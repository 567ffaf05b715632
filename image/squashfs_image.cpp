#include "image/squashfs_image.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include <fmt/format.h>
#include <lzma.h>

extern "C" {
#include <squashfuse/squashfuse.h>
}

namespace hl::image::squashfs {
namespace {

std::atomic<std::uint64_t> g_library_bytes{0};

static_assert(sizeof(squashfs_super_block) == kSuperblockSize);

void destroy(sqfs* fs) {
  sqfs_table_destroy(&fs->xattr_table);  // sqfs_destroy forgets this one (a leak per image opened)
  sqfs_destroy(fs);
  delete fs;
}

// libsquashfuse decodes xz blocks with no memory limit: an 84-byte block
// whose header asks for a 4 GiB dictionary made it malloc 4 GiB. mksquashfs
// keeps the dictionary within the block size (1 MiB at most).
constexpr std::uint64_t kXzMemoryLimit = 8 << 20;

sqfs_err decompress_xz(void* in, size_t in_size, void* out, size_t* out_size) {
  std::uint64_t memory_limit = kXzMemoryLimit;
  size_t in_pos = 0;
  size_t out_pos = 0;
  if (lzma_stream_buffer_decode(&memory_limit, 0, nullptr, static_cast<const std::uint8_t*>(in), &in_pos, in_size,
                                static_cast<std::uint8_t*>(out), &out_pos, *out_size) != LZMA_OK) {
    return SQFS_ERR;
  }
  *out_size = out_pos;
  return SQFS_OK;
}

// [start, start + length) inside [low, high), without overflowing.
bool inside(std::uint64_t start, std::uint64_t length, std::uint64_t low, std::uint64_t high) {
  return start >= low && start <= high && length <= high - start;
}

template <std::size_t N>
void pread_exactly(int fd, std::array<std::uint8_t, N>& out, std::uint64_t offset, const std::string& path) {
  ssize_t n = ::pread(fd, out.data(), N, static_cast<off_t>(offset));
  if (n < 0) throw_errno("read image", path);
  if (static_cast<std::size_t>(n) != N) {
    throw Error(fmt::format("image `{}` is truncated at byte {}", path, offset + static_cast<std::uint64_t>(n)),
                "the copy was cut short; copy the image again");
  }
}

}  // namespace

std::uint64_t bytes_read_by_library() { return g_library_bytes.load(std::memory_order_relaxed); }

void count_library_read(std::uint64_t bytes) { g_library_bytes.fetch_add(bytes, std::memory_order_relaxed); }

Image::Image(int fd, std::string path, std::uint64_t file_size, std::uint64_t offset)
    : path_(std::move(path)), fd_(fd), offset_(offset) {
  SuperblockBytes& bytes = bytes_;
  ssize_t n = ::pread(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
  if (n < 0) throw_errno("read image", path_);
  sb_ = parse_superblock(std::span(bytes.data(), static_cast<std::size_t>(n)), path_);
  check_supported_compression(sb_, path_);
  check_image_size(sb_, file_size, path_);
  if (sb_.has_xattrs()) {
    std::array<std::uint8_t, kXattrIdTableHeaderSize> header{};
    pread_exactly(fd, header, offset + sb_.xattr_id_table_start, path_);
    xattr_ids_ = parse_xattr_id_table(sb_, header, path_);
  }
  open_library(fd, bytes, offset);
  read_id_table();
}

std::unique_ptr<Image> Image::another_handle(const Image& checked) {
  std::unique_ptr<Image> image(new Image());
  image->path_ = checked.path_;
  image->fd_ = checked.fd_;
  image->bytes_ = checked.bytes_;
  image->sb_ = checked.sb_;
  image->xattr_ids_ = checked.xattr_ids_;
  image->offset_ = checked.offset_;
  image->open_library(checked.fd_, checked.bytes_, checked.offset_);
  image->ids_ = checked.ids_;
  return image;
}

Image::~Image() = default;
Image::Image(Image&&) noexcept = default;
Image& Image::operator=(Image&&) noexcept = default;

void Image::open_library(int fd, const SuperblockBytes& bytes, std::uint64_t offset) {
  std::unique_ptr<sqfs, void (*)(sqfs*)> fs(new sqfs{}, [](sqfs* p) { delete p; });
  if (sqfs_init(fs.get(), fd, static_cast<std::size_t>(offset)) != SQFS_OK) {
    throw Error(fmt::format("image `{}`: squashfuse cannot open it", path_), corrupt_superblock_hint(path_));
  }
  fs_ = std::unique_ptr<sqfs, void (*)(sqfs*)>(fs.release(), destroy);
  if (sb_.compression == XZ_COMPRESSION) fs_->decompressor = decompress_xz;
  // sqfs_init read the superblock (and the xattr header) again: the image
  // must not have changed since they were checked. (Little-endian host: the
  // library's swap is a no-op, so its copy is byte for byte the file's.)
  bool same = std::memcmp(&fs_->sb, bytes.data(), bytes.size()) == 0;
  if (sb_.has_xattrs()) {
    same = same && fs_->xattr_info.xattr_table_start == xattr_ids_.pairs_start &&
           fs_->xattr_info.xattr_ids == xattr_ids_.id_count;
  }
  if (!same) {
    throw Error(fmt::format("image `{}` changed while it was being opened", path_),
                "do not rewrite an image while jobs use it");
  }
}

void Image::read_id_table() {
  ids_.resize(sb_.id_count);
  for (std::uint32_t i = 0; i < sb_.id_count; ++i) {
    auto entry = table_entry<4>(fs_->id_table.blocks, sb_.id_count, i, "uid/gid");
    ids_[i] = field<std::uint32_t>(entry, 0);
  }
}

void Image::corrupt(const std::string& detail) const {
  throw CorruptImage(fmt::format("image `{}` is corrupt: {}", path_, detail), corrupt_image_hint(path_));
}

void Image::read_metadata(MetadataCursor& cursor, Region region, void* out, std::size_t size) {
  std::uint64_t low = sb_.directory_table_start;
  std::uint64_t high = sb_.bytes_used;
  if (region == Region::kInodes) {
    low = sb_.inode_table_start;
    high = sb_.directory_table_start;
  } else if (region == Region::kXattrs) {
    low = xattr_ids_.pairs_start;
    high = sb_.xattr_id_table_start;
  }
  auto* dst = static_cast<std::uint8_t*>(out);
  while (size > 0) {
    if (cursor.block < low || cursor.block >= high) {
      corrupt(
          fmt::format("a metadata block at byte {} lies outside its table (bytes {} to {})", cursor.block, low, high));
    }
    sqfs_off_t next = static_cast<sqfs_off_t>(cursor.block);
    sqfs_block* block = nullptr;
    if (sqfs_md_cache(fs_.get(), &next, &block) != SQFS_OK) {
      corrupt(fmt::format("the metadata block at byte {} cannot be read or decompressed", cursor.block));
    }
    // The library takes any size: an uncompressed block may say 32 KiB, a
    // compressed one may decompress short, and it would copy past either.
    if (static_cast<std::uint64_t>(next) > high || block->size == 0 || block->size > kMetadataBlockSize ||
        cursor.offset >= block->size) {
      corrupt(fmt::format("the metadata block at byte {} ({} bytes) does not hold offset {}", cursor.block, block->size,
                          cursor.offset));
    }
    std::size_t take = std::min<std::size_t>(size, block->size - cursor.offset);
    if (dst != nullptr) {
      std::memcpy(dst, static_cast<const std::uint8_t*>(block->data) + cursor.offset, take);
      dst += take;
    }
    size -= take;
    cursor.offset += static_cast<std::uint32_t>(take);
    if (cursor.offset == block->size) cursor = {static_cast<std::uint64_t>(next), 0};
  }
}

// libsquashfuse read the table's index (the metadata block positions) at
// sqfs_init; its own lookup indexes that array with any number the image
// gives, and reads an entry out of a block without checking the block's size.
template <std::size_t N>
std::array<std::uint8_t, N> Image::table_entry(const std::uint64_t* blocks, std::uint64_t count, std::uint64_t index,
                                               const char* table) {
  if (index >= count || blocks == nullptr) {
    corrupt(fmt::format("{} table entry {} of {} does not exist", table, index, count));
  }
  std::uint64_t position = index * N;
  MetadataCursor cursor{blocks[position / kMetadataBlockSize],
                        static_cast<std::uint32_t>(position % kMetadataBlockSize)};
  return read_metadata<N>(cursor, Region::kTables);
}

std::uint32_t Image::id(std::uint16_t index) const {
  if (index >= ids_.size()) corrupt(fmt::format("uid/gid table entry {} of {} does not exist", index, ids_.size()));
  return ids_[index];
}

FragmentEntry Image::fragment(std::uint32_t index) {
  auto entry = table_entry<16>(fs_->frag_table.blocks, sb_.fragment_count, index, "fragment");
  return {field<std::uint64_t>(entry, 0), field<std::uint32_t>(entry, 8)};
}

XattrIdEntry Image::xattr_id(std::uint32_t index) {
  auto entry = table_entry<16>(fs_->xattr_table.blocks, xattr_ids_.id_count, index, "xattr id");
  return {field<std::uint64_t>(entry, 0), field<std::uint32_t>(entry, 8), field<std::uint32_t>(entry, 12)};
}

std::span<const std::uint8_t> Image::data_block(std::uint64_t position, std::uint32_t header, bool fragment) {
  std::uint32_t size = header & ~kUncompressedData;
  // File data lies between the superblock and the inode table; a block
  // larger than the block size would make the library allocate up to 16 MiB.
  if (size == 0 || size > sb_.block_size || (header & ~(kUncompressedData | (kUncompressedData - 1))) != 0 ||
      !inside(position, size, kSuperblockSize, sb_.inode_table_start)) {
    corrupt(fmt::format("a data block of {} bytes at byte {} lies outside the data", size, position));
  }
  sqfs_block* block = nullptr;
  sqfs_cache* cache = fragment ? &fs_->frag_cache : &fs_->data_cache;
  if (sqfs_data_cache(fs_.get(), cache, static_cast<sqfs_off_t>(position), header, &block) != SQFS_OK) {
    corrupt(fmt::format("the data block at byte {} cannot be read or decompressed", position));
  }
  return {static_cast<const std::uint8_t*>(block->data), block->size};
}

}  // namespace hl::image::squashfs

// libsquashfuse reads every block of the image through its exported
// sqfs_pread, a call through the PLT: this definition in the binary takes
// its place, so the holder can say how many bytes it read from the image
// (from the shared file, or from a staged copy) without wrapping the library.
extern "C" ssize_t sqfs_pread(int fd, void* buf, size_t count, off_t offset) {
  ssize_t n = ::pread(fd, buf, count, offset);
  if (n > 0) hl::image::squashfs::count_library_read(static_cast<std::uint64_t>(n));
  return n;
}
