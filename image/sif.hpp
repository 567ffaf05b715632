#pragma once
// Apptainer / Singularity images (SIF, the format of github.com/sylabs/sif):
// a 128-byte global header, a table of 585-byte object descriptors, data
// objects. hpclaunch runs the primary system partition in place — its
// squashfs at its offset, no copy — and refuses encrypted or non-squashfs
// partitions with one line. Pure: the caller reads the bytes (bounded).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace hl::image {

inline constexpr std::size_t kSifHeaderSize = 128;
inline constexpr std::size_t kSifDescriptorSize = 585;
inline constexpr std::uint64_t kMaxSifDescriptors = 4096;

// Whether the file's first bytes are a SIF global header ("SIF_MAGIC" at 32).
bool is_sif(std::span<const std::uint8_t> first_bytes);

struct SifHeader {
  std::uint64_t descriptors_offset = 0;
  std::uint64_t descriptors_total = 0;  // descriptors to read (used or not)
};

// Throws hl::Error naming `path` for a header whose descriptor table does
// not fit in `file_size` or has more than kMaxSifDescriptors entries.
SifHeader parse_sif_header(std::span<const std::uint8_t> header, std::uint64_t file_size, const std::string& path);

struct SifPartition {
  std::uint64_t offset = 0;  // where the squashfs starts in the file
  std::uint64_t size = 0;
};

// The squashfs of the primary system partition (or the only system
// partition) in `descriptors` (descriptors_total entries). Throws naming
// `path` when there is none, it is encrypted or not squashfs, or it does not
// lie inside the file.
SifPartition find_sif_squashfs(std::span<const std::uint8_t> descriptors, std::uint64_t file_size,
                               const std::string& path);

}  // namespace hl::image
