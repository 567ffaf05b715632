#pragma once
// What the front end learns about the image (one stat, one read)
// and passes on, so that no node stats the shared file system.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/unique_fd.hpp"
#include "image/superblock.hpp"

namespace hl::image {

struct ImageMetadata {
  std::string path;
  std::uint64_t size = 0;  // the file's length
  // Where the squashfs lies in the file: all of it, or a SIF's system
  // partition (image/sif.hpp), run in place.
  std::uint64_t squashfs_offset = 0;
  std::uint64_t squashfs_size = 0;
  std::int64_t mtime_ns = 0;
  SuperblockBytes superblock{};
  // FNV-1a of the metadata tail (inode_table_start .. bytes_used), which
  // every lookup reads: 0 when not taken (only a staged copy is checked
  // against it, so only a staged launch pays the read).
  std::uint64_t tail_checksum = 0;
};

void to_json(nlohmann::json& j, const ImageMetadata& m);
void from_json(const nlohmann::json& j, ImageMetadata& m);

// Opens the image and reads its metadata: exactly one open, one fstat and one
// pread of the superblock (a SIF: of its header and descriptors first). Validates the superblock and size. Returns the
// fd too. With `tail_checksum`, also one pass over the metadata tail.
ImageMetadata read_image_metadata(const std::string& path, UniqueFd* opened = nullptr, bool tail_checksum = false);

// FNV-1a 64 of the image's metadata tail, read from `fd`.
std::uint64_t metadata_tail_checksum(int fd, const SuperblockBytes& superblock, const std::string& path);

// Opens the image on a node and checks it is the file the front end saw,
// without stat: the superblock bytes and the length (lseek) must match.
UniqueFd open_matching_image(const ImageMetadata& expected);

// Opens this node's staged copy of the image (--stage), checks it is the
// file the front end saw — length, superblock, metadata tail checksum — and unlinks
// it: the open fd keeps it for as long as the holder serves, and no exit
// path (scancel, time limit, a crash) can leave it behind. Throws Error
// naming the copy and the fix.
UniqueFd open_staged_image(const ImageMetadata& expected, const std::string& staged_path);

}  // namespace hl::image
