#include "image/squashfs_file.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace hl::image::squashfs {
namespace {

constexpr std::uint64_t kCheckpointEvery = 256;
// 24 bytes each: a file of a billion blocks keeps at most ~1.5 MiB.
constexpr std::size_t kMaxCheckpoints = 65536;

}  // namespace

FileReader::Positions& FileReader::positions_of(const Inode& file) {
  ++clock_;
  auto it = std::find_if(files_.begin(), files_.end(), [&](const Positions& p) { return p.ref == file.ref; });
  if (it == files_.end()) {
    it = std::min_element(files_.begin(), files_.end(),
                          [](const Positions& a, const Positions& b) { return a.used < b.used; });
    Position first{0, file.block_list, file.blocks_start};
    it->ref = file.ref;
    it->checkpoints.assign(1, first);
    it->last = first;
  }
  it->used = clock_;
  return *it;
}

FileReader::Position FileReader::locate(Image& image, const Inode& file, std::uint64_t index) {
  Positions& known = positions_of(file);
  std::size_t checkpoint = std::min<std::uint64_t>(index / kCheckpointEvery, known.checkpoints.size() - 1);
  Position at = known.checkpoints[checkpoint];
  if (known.last.index <= index && known.last.index > at.index) at = known.last;
  std::uint32_t block_size = image.superblock().block_size;
  while (at.index < index) {
    auto entry = field<std::uint32_t>(image.read_metadata<4>(at.size_entry, Region::kInodes), 0);
    std::uint32_t size = entry & ~kUncompressedData;
    if (size > block_size) {
      image.corrupt(fmt::format("block {} of file inode {:#x} has {} bytes", at.index, file.ref, size));
    }
    at.data += size;
    ++at.index;
    if (at.index % kCheckpointEvery == 0 && at.index / kCheckpointEvery == known.checkpoints.size() &&
        known.checkpoints.size() < kMaxCheckpoints) {
      known.checkpoints.push_back(at);
    }
  }
  known.last = at;
  return at;
}

std::size_t FileReader::read(Image& image, const Inode& file, std::uint64_t offset, std::span<std::uint8_t> out) {
  if (offset >= file.file_size) return 0;
  std::uint64_t block_size = image.superblock().block_size;
  std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), file.file_size - offset));
  bool has_fragment = file.fragment != kNoFragment;
  std::uint64_t blocks = has_fragment ? file.file_size / block_size : (file.file_size + block_size - 1) / block_size;
  std::size_t done = 0;
  while (done < want) {
    std::uint64_t at = offset + done;
    std::uint64_t index = at / block_size;
    std::uint64_t in_block = at % block_size;
    std::uint64_t block_bytes = std::min(block_size, file.file_size - index * block_size);
    std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(want - done, block_bytes - in_block));
    std::span<const std::uint8_t> data;
    bool hole = false;  // sparse files store no block for a run of zeros
    std::uint64_t start = in_block;
    if (index < blocks) {
      Position position = locate(image, file, index);
      MetadataCursor cursor = position.size_entry;
      auto entry = field<std::uint32_t>(image.read_metadata<4>(cursor, Region::kInodes), 0);
      hole = (entry & ~kUncompressedData) == 0;
      if (!hole) data = image.data_block(position.data, entry, false);
    } else {
      FragmentEntry fragment = image.fragment(file.fragment);
      data = image.data_block(fragment.start, fragment.header, true);
      start += file.fragment_offset;
    }
    if (hole) {
      std::memset(out.data() + done, 0, take);
    } else {
      if (start + take > data.size()) {
        image.corrupt(fmt::format("block {} of file inode {:#x} holds {} bytes, not {}", index, file.ref, data.size(),
                                  start + take));
      }
      std::memcpy(out.data() + done, data.data() + start, take);
    }
    done += take;
  }
  return done;
}

}  // namespace hl::image::squashfs
