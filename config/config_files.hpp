#pragma once
// Where site and user configuration live, and reading it: the files only,
// each bounded and a regular file (a user's configuration is untrusted input
// too: a FIFO there must not block a launch, a huge file must not flood it).
// What they mean is config.hpp's business (pure).
//
//   SITE/hpclaunch.conf        SITE = $HPCLAUNCH_CONFIG_DIR or /etc/hpclaunch
//   SITE/environ.d/*.env       each directory's files in lexical order
//   SITE/mounts.d/*.fstab
//   SITE/hooks.d/*.sh
//   USER/...                   USER = $XDG_CONFIG_HOME/hpclaunch or ~/.config/hpclaunch
#include <string>
#include <vector>

#include "common/env.hpp"

namespace hl::config {

struct ConfigFile {
  std::string path;     // as read (absolute)
  std::string name;     // the file name: a user's hook replaces the site's of the same name
  std::string content;  // at most kMaxConfigFile bytes
  bool site = true;     // the site's (may mark entries fixed) or the user's
};

struct ConfigSources {
  std::string site_dir;
  std::string user_dir;             // "" when neither XDG_CONFIG_HOME nor HOME is set
  std::vector<ConfigFile> conf;     // hpclaunch.conf: the site's, then the user's
  std::vector<ConfigFile> environ;  // environ.d/*.env
  std::vector<ConfigFile> mounts;   // mounts.d/*.fstab
  std::vector<ConfigFile> hooks;    // hooks.d/*.sh
};

inline constexpr std::size_t kMaxConfigFile = 1 << 20;
inline constexpr std::size_t kMaxFilesPerDir = 256;

// The two directories for this environment.
std::string site_config_dir(const EnvList& env);
std::string user_config_dir(const EnvList& env);

// Reads both directories (a missing file or directory is no configuration).
// Files in a drop-in directory count when their name is NAME.SUFFIX with
// NAME of letters, digits, `-`, `_`, `.` and not starting with a dot:
// backups (x.env~, x.env.dpkg-old) are skipped. Throws hl::Error naming the
// file for anything else it cannot read.
ConfigSources read_config_sources(const EnvList& env);

// Whether `name` counts in a drop-in directory with `suffix` (".env", ...).
bool is_drop_in_name(const std::string& name, const std::string& suffix);

}  // namespace hl::config
