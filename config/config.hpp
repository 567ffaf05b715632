#pragma once
// Site and user configuration as data, like enroot's: what the files of
// config_files.hpp say, merged into one effective configuration that keeps
// where every value came from (`hpclaunch config` prints it). Pure: every
// rule here is unit-tested, and the parsers are fuzzed.
//
// hpclaunch.conf — defaults for the long options of `hpclaunch run`:
//     # comment
//     KEY = VALUE             KEY is a long option without its dashes
//     fixed KEY = VALUE       (site only) neither a user's file nor the command line may change it
//   Flags take true/false; repeatable options (mount, env, unset-env) add up.
// environ.d/*.env — variables for every rank, applied in order after the
//   image's: [fixed] [export] KEY=VALUE; the value may hold ${VAR} (the
//   rank's environment so far) and matching outer quotes are stripped.
// mounts.d/*.fstab — image/fstab.hpp; `x-fixed` in the site's.
// hooks.d/*.sh — run on each node once its container's root is built
//   (wireup/). A user's hook of the same name replaces the site's, an empty
//   one disables it, unless the site's says `# hpclaunch: fixed`.
//
// A user's entry that a fixed site entry keeps from taking effect is
// dropped with a warning; everything else that is wrong is an hl::Error
// naming the file and the line.
#include <map>
#include <string>
#include <vector>

#include "common/env.hpp"
#include "config/config_files.hpp"
#include "image/mount_plan.hpp"

namespace hl::config {

// The keys hpclaunch.conf may set: the command's long options.
struct OptionInfo {
  bool flag = false;        // takes true/false
  bool repeatable = false;  // values add up instead of replacing
};
using OptionTable = std::map<std::string, OptionInfo, std::less<>>;

// One value of an option: a repeatable option has one setting per value,
// any other at most one (the last that counts).
struct OptionSetting {
  std::string key;
  std::string value;   // flags: "true" or "false"
  std::string origin;  // FILE:LINE
  bool fixed = false;
};

struct EnvSetting {
  std::string key;
  std::string value;  // may hold ${VAR}, expanded per rank
  std::string origin;
  bool fixed = false;
};

struct HookSetting {
  std::string name;  // file name: 10-mpi.sh
  std::string path;  // absolute, run by each node's holder
  std::string origin;
  bool fixed = false;
};

struct SiteConfig {
  std::string site_dir;
  std::string user_dir;
  std::vector<OptionSetting> options;  // in the order first set
  std::vector<EnvSetting> env;         // every assignment, in order
  std::vector<image::MountSpec> mounts;
  std::vector<bool> mount_fixed;      // parallel to mounts
  std::vector<HookSetting> hooks;     // in the order they run
  std::vector<std::string> warnings;  // user entries a fixed site entry overrode

  const OptionSetting* option(std::string_view key) const;
  // The fixed site variable `key`, if any.
  const EnvSetting* fixed_env(std::string_view key) const;
};

// One hpclaunch.conf. Throws hl::Error "`FILE` line N: ..." for a line that
// is not KEY = VALUE, an unknown key, a flag value that is not true/false,
// or `fixed` in a user's file.
std::vector<OptionSetting> parse_conf(const ConfigFile& file, const OptionTable& known);

// One environ.d file; errors name the file and line.
std::vector<EnvSetting> parse_env_file(const ConfigFile& file);

// Whether a hook file asks to be fixed: a line `# hpclaunch: fixed`.
bool hook_is_fixed(std::string_view content);

// Everything merged, site before user. `env` expands ${VAR} in mounts.d.
SiteConfig merge_config(const ConfigSources& sources, const OptionTable& known, const EnvList& env);

// ${VAR} in `value` from `env` (unset: empty, as a shell would).
std::string expand_env_value(std::string_view value, const EnvList& env);

// `hpclaunch config`: every setting with where it came from.
std::string describe_config(const SiteConfig& config);

}  // namespace hl::config
