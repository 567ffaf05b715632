// The credentials file (import/registry/auth.hpp: machine HOST login USER password PASS).
#include <string_view>

#include "common/error.hpp"
#include "import/registry/auth.hpp"
#include "tests/fuzz/entries.hpp"

namespace hl::fuzz {

int credentials(const std::uint8_t* data, std::size_t size) {
  try {
    auto entries =
        import::parse_credentials(std::string_view(reinterpret_cast<const char*>(data), size), "credentials");
    import::find_credential(entries, "127.0.0.1:5000", "");
    import::find_credential(entries, "docker.io", "user");
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace hl::fuzz
