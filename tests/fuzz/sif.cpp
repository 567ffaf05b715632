// A SIF file's header and descriptor table (image/sif.hpp) on any bytes: the
// bytes are the file, as read_image_metadata reads it.
#include <span>

#include "common/error.hpp"
#include "image/sif.hpp"
#include "tests/fuzz/entries.hpp"

namespace hl::fuzz {

int sif(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> file(data, size);
  if (!image::is_sif(file)) return 0;
  try {
    auto header = image::parse_sif_header(file.first(std::min(size, image::kSifHeaderSize)), size, "/fuzz.sif");
    auto table = file.subspan(header.descriptors_offset, header.descriptors_total * image::kSifDescriptorSize);
    image::find_sif_squashfs(table, size, "/fuzz.sif");
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace hl::fuzz
