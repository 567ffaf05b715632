// The holder/joiner messages (wireup/join_protocol.hpp): both decoders.
#include <string_view>

#include "common/error.hpp"
#include "tests/fuzz/entries.hpp"
#include "wireup/join_protocol.hpp"

namespace hl::fuzz {

int join_protocol(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    wireup::decode_request(text);
  } catch (const Error&) {
  }
  try {
    wireup::encode(wireup::decode_reply(text));
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace hl::fuzz
