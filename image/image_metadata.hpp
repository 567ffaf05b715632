#pragma once
// What rank 0 of the node step learns about the image (one stat, one read)
// and broadcasts, so that no other node stats the shared file system.
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
};

void to_json(nlohmann::json& j, const ImageMetadata& m);
void from_json(const nlohmann::json& j, ImageMetadata& m);

// Opens the image and reads its metadata: exactly one open, one fstat and one
// pread of the superblock (a SIF: of its header and descriptors first). Validates the superblock and size. Returns the
// fd too.
ImageMetadata read_image_metadata(const std::string& path, UniqueFd* opened = nullptr);

// Opens the image on another node and checks it is the file rank 0 saw,
// without stat: the superblock bytes and the length (lseek) must match.
UniqueFd open_matching_image(const ImageMetadata& expected);

}  // namespace hl::image
