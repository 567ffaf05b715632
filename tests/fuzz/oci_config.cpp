// Image configs (import/layers/layers_config.hpp, check_config_platform): the
// config JSON, then after the first NUL the image's own /etc/environment.
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "import/layers/layers_config.hpp"
#include "import/registry/manifest.hpp"
#include "tests/fuzz/entries.hpp"

namespace hl::fuzz {

int oci_config(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string_view environment = text.substr(std::min(text.size(), text.find('\0') + 1));
  auto config = nlohmann::json::parse(text.substr(0, text.find('\0')), nullptr, false);
  if (config.is_discarded()) return 0;
  try {
    std::string skipped;
    import::environment_with_config(environment, config, &skipped);
    import::hpclaunch_config_json(config);
    import::check_config_platform(config, import::Platform{"linux", "amd64", ""}, "fuzz");
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace hl::fuzz
