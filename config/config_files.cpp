#include "config/config_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/unique_fd.hpp"
#include "common/unique_handle.hpp"

namespace hl::config {
namespace {

void close_dir(DIR* d) { ::closedir(d); }
using UniqueDir = UniqueHandle<DIR*, close_dir>;

// nullopt when the file does not exist; symlinks are followed (a site may
// link a hook from /usr/share), the result must be a regular file.
std::optional<std::string> read_config_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw_errno("read configuration file", path);
  }
  return read_regular_file(fd.get(), fmt::format("configuration file `{}`", path), kMaxConfigFile);
}

std::vector<std::string> drop_in_names(const std::string& dir, const std::string& suffix) {
  UniqueDir d(::opendir(dir.c_str()));
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR) return {};
    throw_errno("read configuration directory", dir);
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(d.get())) {
    std::string name = entry->d_name;
    if (!is_drop_in_name(name, suffix)) continue;
    if (names.size() == kMaxFilesPerDir) {
      throw Error(fmt::format("configuration directory `{}` has more than {} {} files", dir, kMaxFilesPerDir, suffix),
                  "merge some of them");
    }
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());  // lexical order, as run-parts and enroot
  return names;
}

void read_drop_ins(const std::string& dir, const std::string& suffix, bool site, std::vector<ConfigFile>& out) {
  if (dir.empty()) return;
  for (const auto& name : drop_in_names(dir, suffix)) {
    std::string path = dir + "/" + name;
    if (auto content = read_config_file(path)) out.push_back(ConfigFile{path, name, std::move(*content), site});
  }
}

void read_layer(const std::string& dir, bool site, ConfigSources& s) {
  if (dir.empty()) return;
  if (auto conf = read_config_file(dir + "/hpclaunch.conf")) {
    s.conf.push_back(ConfigFile{dir + "/hpclaunch.conf", "hpclaunch.conf", std::move(*conf), site});
  }
  read_drop_ins(dir + "/environ.d", ".env", site, s.environ);
  read_drop_ins(dir + "/mounts.d", ".fstab", site, s.mounts);
  read_drop_ins(dir + "/hooks.d", ".sh", site, s.hooks);
}

}  // namespace

bool is_drop_in_name(const std::string& name, const std::string& suffix) {
  if (name.size() <= suffix.size() || name.front() == '.' || !name.ends_with(suffix)) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

std::string site_config_dir(const EnvList& env) {
  std::string dir = env_value(env, "HPCLAUNCH_CONFIG_DIR");
  return dir.empty() ? "/etc/hpclaunch" : dir;
}

std::string user_config_dir(const EnvList& env) {
  std::string xdg = env_value(env, "XDG_CONFIG_HOME");
  if (!xdg.empty() && xdg.front() == '/') return xdg + "/hpclaunch";
  std::string home = env_value(env, "HOME");
  return home.empty() || home.front() != '/' ? "" : home + "/.config/hpclaunch";
}

ConfigSources read_config_sources(const EnvList& env) {
  ConfigSources s;
  s.site_dir = site_config_dir(env);
  s.user_dir = user_config_dir(env);
  read_layer(s.site_dir, true, s);
  if (s.user_dir != s.site_dir) read_layer(s.user_dir, false, s);
  return s;
}

}  // namespace hl::config
