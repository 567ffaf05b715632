#include "launcher/image_import.hpp"

#include <sys/stat.h>

#include <cerrno>

#include <fmt/format.h>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/self_path.hpp"
#include "common/strings.hpp"

namespace hl::launcher {
namespace {

constexpr std::size_t kMaxName = 200;  // a file name, with room for the import's temporary suffix

void make_private_dirs(const std::string& path) {
  std::string current;
  for (const auto& part : split(path, '/')) {
    if (part.empty()) continue;
    current += "/" + part;
    if (::mkdir(current.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("create the image cache", current);
  }
}

}  // namespace

bool is_registry_reference(std::string_view image) { return image.starts_with("docker://"); }

std::string run_cache_path(std::string_view reference, const EnvList& env) {
  std::string base = env_value(env, "XDG_CACHE_HOME");
  if (base.empty() || !base.starts_with('/')) {
    std::string home = env_value(env, "HOME");
    if (home.empty() || !home.starts_with('/')) {
      throw Error(
          fmt::format("--image `{}`: no cache directory for the import (neither XDG_CACHE_HOME nor HOME is set)",
                      reference),
          "set HOME, or import it yourself: hpclaunch import -o IMAGE.sqsh REF");
    }
    base = home + "/.cache";
  }
  std::string_view rest = reference.substr(reference.find("://") + 3);
  std::string name;
  for (char c : rest) {
    bool plain =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    name += plain ? c : '+';
  }
  if (name.empty() || name.front() == '.' || name.size() > kMaxName) {
    throw Error(fmt::format("--image `{}`: not an image reference hpclaunch can cache", reference),
                "import it yourself: hpclaunch import -o IMAGE.sqsh REF");
  }
  return fmt::format("{}/hpclaunch/run/{}.sqsh", base, name);
}

int import_for_run(const std::string& reference, const std::string& path, bool insecure) {
  make_private_dirs(dirname_of(path));
  std::vector<std::string> argv = {sibling_binary("hpclaunch-import"), "-f", "-o", path};
  if (insecure) argv.push_back("--insecure");
  argv.push_back(reference);
  return ChildProcess::spawn(argv).wait();
}

}  // namespace hl::launcher
