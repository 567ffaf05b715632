// docker:// image references (import/registry/reference.hpp) and the names derived from them.
#include <string_view>

#include "common/error.hpp"
#include "import/registry/reference.hpp"
#include "tests/fuzz/entries.hpp"

namespace hl::fuzz {

int image_reference(const std::uint8_t* data, std::size_t size) {
  try {
    auto ref = import::parse_image_reference(std::string_view(reinterpret_cast<const char*>(data), size));
    (void)ref.api_host();
    (void)ref.manifest_reference();
    (void)ref.display();
    (void)import::default_output_name(ref);
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace hl::fuzz
