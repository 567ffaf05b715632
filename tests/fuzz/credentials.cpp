// The credentials file (image/oci/auth.hpp: machine HOST login USER password PASS).
#include <string_view>

#include "common/error.hpp"
#include "image/oci/auth.hpp"
#include "tests/fuzz/entries.hpp"

namespace hl::fuzz {

int credentials(const std::uint8_t* data, std::size_t size) {
  try {
    auto entries =
        image::oci::parse_credentials(std::string_view(reinterpret_cast<const char*>(data), size), "credentials");
    image::oci::find_credential(entries, "127.0.0.1:5000", "");
    image::oci::find_credential(entries, "docker.io", "user");
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace hl::fuzz
