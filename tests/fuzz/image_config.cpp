// An image's /.hpclaunch/config.json and /etc/rc on any bytes (the part
// before the first NUL is config.json, an empty one absent; the rest /etc/rc),
// then the rank's command for every entrypoint option and the User warning.
#include <optional>
#include <string>

#include "common/error.hpp"
#include "image/image_config.hpp"
#include "tests/fuzz/entries.hpp"

namespace hl::fuzz {

int image_config(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto nul = text.find('\0');
  std::optional<std::string> config_json, etc_rc;
  if (nul != 0) config_json = std::string(text.substr(0, nul));
  if (nul != std::string_view::npos) etc_rc = std::string(text.substr(nul + 1));
  try {
    image::ImageConfig config = image::image_config_from_files(config_json, etc_rc, "/fuzz.sqsh");
    image::user_warning(config, false, 1000, "/fuzz.sqsh");
    for (auto mode : {image::EntrypointMode::image, image::EntrypointMode::replace, image::EntrypointMode::none}) {
      for (bool wrap : {false, true}) {
        image::CommandOptions options;
        options.entrypoint = mode;
        options.entrypoint_program = "/bin/sh";
        options.wrap = wrap;
        try {
          image::rank_command(config, options, "/fuzz.sqsh");
        } catch (const Error&) {
        }
        options.command = {"hostname"};
        image::rank_command(config, options, "/fuzz.sqsh");
      }
    }
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace hl::fuzz
