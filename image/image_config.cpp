#include "image/image_config.hpp"

#include <fmt/format.h>

#include "common/error.hpp"

namespace hl::image {
namespace {

// An image's command line: bounded like the kernel bounds argv, so a
// hostile config.json cannot make every rank carry megabytes.
constexpr std::size_t kMaxWords = 4096;
constexpr std::size_t kMaxWordBytes = 128 * 1024;

[[noreturn]] void malformed(const std::string& image, const std::string& why) {
  throw Error(fmt::format("image `{}`: `/.hpclaunch/config.json` {}", image, why),
              "re-import the image with `hpclaunch import`");
}

std::vector<std::string> words(const nlohmann::json& config, const char* key, const std::string& image) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return {};
  if (!it->is_array() || it->size() > kMaxWords) malformed(image, fmt::format("has a bad `{}`", key));
  std::vector<std::string> out;
  for (const auto& word : *it) {
    if (!word.is_string() || word.get_ref<const std::string&>().size() > kMaxWordBytes) {
      malformed(image, fmt::format("has a bad `{}`", key));
    }
    out.push_back(word.get<std::string>());
  }
  return out;
}

std::string text(const nlohmann::json& config, const char* key, const std::string& image) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return {};
  if (!it->is_string() || it->get_ref<const std::string&>().size() > kMaxWordBytes) {
    malformed(image, fmt::format("has a bad `{}`", key));
  }
  return it->get<std::string>();
}

bool is_root_user(std::string_view user) {
  auto colon = user.find(':');
  std::string_view name = user.substr(0, colon);
  return name == "root" || name == "0";
}

}  // namespace

ImageConfig image_config_from_files(const std::optional<std::string>& config_json,
                                    const std::optional<std::string>& etc_rc, const std::string& image) {
  ImageConfig c;
  if (config_json) {
    auto json = nlohmann::json::parse(*config_json, nullptr, false);
    if (json.is_discarded() || !json.is_object()) malformed(image, "is not a JSON object");
    c.kind = ImageKind::hpclaunch;
    c.entrypoint = words(json, "Entrypoint", image);
    c.cmd = words(json, "Cmd", image);
    c.workdir = text(json, "WorkingDir", image);
    c.user = text(json, "User", image);
    return c;
  }
  if (etc_rc) {
    // enroot runs `/etc/rc` with the command as its arguments; the script
    // changes to the image's working directory itself.
    c.kind = ImageKind::enroot;
    c.entrypoint = {"/bin/sh", "/etc/rc"};
  }
  return c;
}

std::vector<std::string> rank_command(const ImageConfig& config, const CommandOptions& o, const std::string& image) {
  std::vector<std::string> argv;
  bool given = !o.command.empty();
  if (o.entrypoint == EntrypointMode::replace) {
    argv = {o.entrypoint_program};
  } else if (o.entrypoint == EntrypointMode::image && (!given || o.wrap)) {
    argv = config.entrypoint;
  }
  if (given) {
    argv.insert(argv.end(), o.command.begin(), o.command.end());
  } else if (o.entrypoint != EntrypointMode::replace) {
    argv.insert(argv.end(), config.cmd.begin(), config.cmd.end());
  }
  if (argv.empty() || argv.front().empty()) {
    throw Error(fmt::format("no program given, and image `{}` has no {}", image,
                            o.entrypoint == EntrypointMode::none ? "Cmd" : "Entrypoint or Cmd"),
                "give one: hpclaunch -n N --image IMAGE PROGRAM [ARGS...]");
  }
  return argv;
}

std::string user_warning(const ImageConfig& config, bool root, unsigned uid, const std::string& image) {
  if (config.user.empty() || (root && is_root_user(config.user))) return {};
  if (is_root_user(config.user)) {
    return fmt::format("image `{}` asks to run as `{}`; ranks run as you (uid {}): add --root to be uid 0 inside",
                       image, config.user, uid);
  }
  return fmt::format(
      "image `{}` asks to run as user `{}`; ranks run as {} (an unprivileged container maps only your uid)", image,
      config.user, root ? "uid 0 (--root)" : fmt::format("you (uid {})", uid));
}

}  // namespace hl::image
