// The superblock parser (pure) on any bytes as the start of an image, and
// the xattr id table header where the superblock puts it.
#include <algorithm>

#include "common/error.hpp"
#include "image/superblock.hpp"
#include "tests/fuzz/entries.hpp"

namespace hl::fuzz {

int superblock(const std::uint8_t* data, std::size_t size) {
  try {
    auto sb = image::parse_superblock(std::span(data, size), "fuzz.sqsh");
    image::check_supported_compression(sb, "fuzz.sqsh");
    image::check_image_size(sb, size, "fuzz.sqsh");
    if (sb.has_xattrs()) {
      auto header = std::span(data, size).subspan(sb.xattr_id_table_start);  // inside: check_image_size passed
      image::parse_xattr_id_table(sb, header.first(std::min(header.size(), image::kXattrIdTableHeaderSize)),
                                  "fuzz.sqsh");
    }
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace hl::fuzz
