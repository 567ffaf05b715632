// The site and user configuration parsers (config/, image/fstab.hpp) on any
// bytes: NUL-separated hpclaunch.conf, an environ.d file, a mounts.d file and
// a hook, each parsed alone and then merged as the site's and the user's.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "config/config.hpp"
#include "tests/fuzz/entries.hpp"

namespace hl::fuzz {

int config_files(const std::uint8_t* data, std::size_t size) {
  auto parts = split(std::string_view(reinterpret_cast<const char*>(data), size), '\0');
  parts.resize(4);
  const config::OptionTable known = {{"workdir", {}}, {"contain", {true, false}}, {"mount", {false, true}}};
  config::ConfigSources sources;
  for (bool site : {true, false}) {
    std::string dir = site ? "/etc/hpclaunch/" : "/home/u/.config/hpclaunch/";
    sources.conf.push_back({dir + "hpclaunch.conf", "hpclaunch.conf", parts[0], site});
    sources.environ.push_back({dir + "environ.d/10.env", "10.env", parts[1], site});
    sources.mounts.push_back({dir + "mounts.d/10.fstab", "10.fstab", parts[2], site});
    sources.hooks.push_back({dir + "hooks.d/10.sh", "10.sh", parts[3], site});
  }
  const EnvList env = {{"HOME", "/home/u"}, {"SCRATCH", "/scratch/u"}};
  try {
    config::parse_conf(sources.conf[1], known);
  } catch (const Error&) {
  }
  try {
    config::parse_env_file(sources.environ[0]);
  } catch (const Error&) {
  }
  try {
    auto merged = config::merge_config(sources, known, env);
    config::describe_config(merged);
    for (const auto& e : merged.env) config::expand_env_value(e.value, env);
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace hl::fuzz
