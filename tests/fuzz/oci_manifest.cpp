// Registry manifests and indexes (import/registry/manifest.hpp): the first byte
// picks the Content-Type the registry claimed, the rest is the body.
#include <array>
#include <string_view>
#include <variant>

#include "common/error.hpp"
#include "import/registry/manifest.hpp"
#include "tests/fuzz/entries.hpp"

namespace hl::fuzz {

int oci_manifest(const std::uint8_t* data, std::size_t size) {
  using namespace import;
  static constexpr std::array<std::string_view, 6> kContentTypes = {"",
                                                                    media_type::kOciIndex,
                                                                    media_type::kOciManifest,
                                                                    media_type::kDockerList,
                                                                    media_type::kDockerManifest,
                                                                    "application/json; charset=utf-8"};
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    auto parsed = parse_manifest(body, kContentTypes[data[0] % kContentTypes.size()], "fuzz");
    if (auto* index = std::get_if<ImageIndex>(&parsed)) {
      pick_platform(*index, parse_platform("linux/arm/v7"), "fuzz");
      pick_platform(*index, Platform{"linux", "amd64", ""}, "fuzz");
    }
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace hl::fuzz
