#include "image/sif.hpp"

#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "common/error.hpp"

namespace hl::image {
namespace {

// sylabs/sif: DataPartition; FsSquash, FsExt3, FsImmuObj, FsRaw,
// FsEncryptedSquashfs; PartSystem, PartPrimSys.
constexpr std::int32_t kDataPartition = 0x4004;
constexpr std::int32_t kFsSquash = 1;
constexpr std::int32_t kFsEncryptedSquash = 5;
constexpr std::int32_t kPartSystem = 1;
constexpr std::int32_t kPartPrimSys = 2;

template <typename T>
T little(std::span<const std::uint8_t> bytes, std::size_t at) {
  T value{};
  std::memcpy(&value, bytes.data() + at, sizeof value);  // little-endian host, as the rest of hpclaunch
  return value;
}

std::string fs_name(std::int32_t fs) {
  switch (fs) {
    case 1:
      return "squashfs";
    case 2:
      return "ext3";
    case 3:
      return "an immutable object";
    case 4:
      return "raw data";
    case 5:
      return "encrypted squashfs";
  }
  return fmt::format("file system type {}", fs);
}

[[noreturn]] void bad(const std::string& path, const std::string& why, std::string hint) {
  throw Error(fmt::format("image `{}` (SIF): {}", path, why), std::move(hint));
}

struct Partition {
  std::int32_t fs = 0;
  std::int32_t type = 0;
  std::int64_t offset = 0;
  std::int64_t size = 0;
};

}  // namespace

bool is_sif(std::span<const std::uint8_t> first_bytes) {
  return first_bytes.size() >= 42 && std::memcmp(first_bytes.data() + 32, "SIF_MAGIC", 9) == 0;
}

SifHeader parse_sif_header(std::span<const std::uint8_t> header, std::uint64_t file_size, const std::string& path) {
  if (header.size() < kSifHeaderSize) bad(path, "the global header is truncated", "copy the image again");
  auto total = little<std::int64_t>(header, 88);
  auto offset = little<std::int64_t>(header, 96);
  if (total < 0 || offset < 0 || static_cast<std::uint64_t>(total) > kMaxSifDescriptors) {
    bad(path, fmt::format("the header names {} descriptors at byte {}", total, offset), "the image is broken");
  }
  SifHeader h{static_cast<std::uint64_t>(offset), static_cast<std::uint64_t>(total)};
  if (h.descriptors_offset > file_size || h.descriptors_total * kSifDescriptorSize > file_size - h.descriptors_offset) {
    bad(path, "its descriptor table lies beyond the end of the file", "copy the image again");
  }
  return h;
}

SifPartition find_sif_squashfs(std::span<const std::uint8_t> descriptors, std::uint64_t file_size,
                               const std::string& path) {
  std::optional<Partition> primary, system;
  std::string others;
  for (std::size_t at = 0; at + kSifDescriptorSize <= descriptors.size(); at += kSifDescriptorSize) {
    auto d = descriptors.subspan(at, kSifDescriptorSize);
    if (little<std::int32_t>(d, 0) != kDataPartition || d[4] == 0) continue;  // not a used partition
    // Offset at 17, Size at 25; Extra (Fstype, Parttype) at 201.
    Partition p{little<std::int32_t>(d, 201), little<std::int32_t>(d, 205), little<std::int64_t>(d, 17),
                little<std::int64_t>(d, 25)};
    if (p.type == kPartPrimSys && !primary) primary = p;
    if (p.type == kPartSystem && !system) system = p;
    others += (others.empty() ? "" : ", ") + fs_name(p.fs);
  }
  std::optional<Partition> chosen = primary ? primary : system;
  if (!chosen) {
    bad(path,
        others.empty() ? "it has no squashfs partition"
                       : fmt::format("it has no squashfs system partition (its partitions: {})", others),
        "build it with a squashfs root (apptainer build)");
  }
  if (chosen->fs == kFsEncryptedSquash) {
    bad(path, "its system partition is encrypted squashfs, which hpclaunch cannot read",
        "build the image without --encrypt");
  }
  if (chosen->fs != kFsSquash) {
    bad(path, fmt::format("its system partition is {}, not squashfs", fs_name(chosen->fs)),
        "build it with a squashfs root (apptainer build)");
  }
  if (chosen->offset < 0 || chosen->size <= 0 || static_cast<std::uint64_t>(chosen->offset) > file_size ||
      static_cast<std::uint64_t>(chosen->size) > file_size - static_cast<std::uint64_t>(chosen->offset)) {
    bad(path, "its squashfs partition lies beyond the end of the file", "copy the image again");
  }
  return {static_cast<std::uint64_t>(chosen->offset), static_cast<std::uint64_t>(chosen->size)};
}

}  // namespace hl::image
