// What a registry sends during authentication (import/registry/auth.hpp): a
// WWW-Authenticate value, and after the first NUL a token server's answer.
#include <string_view>

#include "common/error.hpp"
#include "import/registry/auth.hpp"
#include "tests/fuzz/entries.hpp"

namespace hl::fuzz {

int registry_auth(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::size_t nul = text.find('\0');
  try {
    for (const auto& challenge : import::parse_www_authenticate(text.substr(0, nul))) {
      if (challenge.scheme == "bearer") import::token_request_url(challenge, "repository:test/app:pull");
    }
    if (nul != std::string_view::npos) import::parse_token_response(text.substr(nul + 1));
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace hl::fuzz
