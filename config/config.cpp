#include "config/config.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "image/fstab.hpp"

namespace hl::config {
namespace {

constexpr const char* kKeyHint =
    "keys are the long options of `hpclaunch run` without their dashes (see hpclaunch run --help)";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string_view unquote(std::string_view value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
    return value.substr(1, value.size() - 2);
  }
  return value;
}

// "fixed KEY = VALUE": the word and its blank taken off the line.
bool take_word(std::string_view& line, std::string_view word) {
  if (!line.starts_with(word) || line.size() == word.size()) return false;
  char next = line[word.size()];
  if (next != ' ' && next != '\t') return false;
  line = trim(line.substr(word.size()));
  return true;
}

bool is_variable_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::optional<std::string> flag_value(std::string_view value) {
  std::string v = lowercase(value);
  if (v == "true" || v == "yes" || v == "on" || v == "1") return "true";
  if (v == "false" || v == "no" || v == "off" || v == "0") return "false";
  return std::nullopt;
}

std::string origin_of(const ConfigFile& file, int line) { return fmt::format("{}:{}", file.path, line); }

[[noreturn]] void bad_line(const ConfigFile& file, int line, const std::string& why, std::string hint = {}) {
  throw Error(fmt::format("`{}` line {}: {}", file.path, line, why), std::move(hint));
}

// Calls `each(line_number, text)` for the lines that are not blank or comments.
template <typename Each>
void for_each_line(const ConfigFile& file, Each&& each) {
  int number = 0;
  for (const auto& raw : split(file.content, '\n')) {
    ++number;
    std::string_view line = trim(raw);
    if (!line.empty() && line.front() != '#') each(number, line);
  }
}

bool is_fixed_line(const ConfigFile& file, int number, std::string_view& line) {
  if (!take_word(line, "fixed")) return false;
  if (!file.site) bad_line(file, number, "`fixed` is for the site's configuration", "remove the word `fixed`");
  return true;
}

void merge_options(const ConfigSources& sources, const OptionTable& known, SiteConfig& out) {
  for (const auto& file : sources.conf) {
    for (auto& setting : parse_conf(file, known)) {
      const OptionInfo& info = known.find(setting.key)->second;
      auto same = std::find_if(out.options.begin(), out.options.end(),
                               [&](const OptionSetting& o) { return o.key == setting.key; });
      if (info.repeatable || same == out.options.end()) {
        out.options.push_back(std::move(setting));
      } else if (same->fixed && !file.site) {
        out.warnings.push_back(
            fmt::format("{}: `{}` is fixed by the site ({}); ignored", setting.origin, setting.key, same->origin));
      } else {
        *same = std::move(setting);
      }
    }
  }
}

void merge_env(const ConfigSources& sources, SiteConfig& out) {
  for (const auto& file : sources.environ) {
    for (auto& setting : parse_env_file(file)) {
      const EnvSetting* fixed = out.fixed_env(setting.key);
      if (fixed != nullptr && !file.site) {
        out.warnings.push_back(
            fmt::format("{}: `{}` is fixed by the site ({}); ignored", setting.origin, setting.key, fixed->origin));
        continue;
      }
      out.env.push_back(std::move(setting));
    }
  }
}

void merge_mounts(const ConfigSources& sources, const EnvList& env, SiteConfig& out) {
  for (const auto& file : sources.mounts) {
    image::FstabContext context{env, "", "", file.site};
    for (auto& entry : image::parse_fstab(file.content, file.path, context)) {
      auto same = std::find_if(out.mounts.begin(), out.mounts.end(),
                               [&](const image::MountSpec& m) { return m.target == entry.mount.target; });
      if (same == out.mounts.end()) {
        out.mounts.push_back(std::move(entry.mount));
        out.mount_fixed.push_back(entry.fixed);
        continue;
      }
      std::size_t i = static_cast<std::size_t>(same - out.mounts.begin());
      if (out.mount_fixed[i] && !file.site) {
        out.warnings.push_back(fmt::format("{}: the mount at `{}` is fixed by the site ({}); ignored",
                                           entry.mount.origin, entry.mount.target, same->origin));
        continue;
      }
      *same = std::move(entry.mount);
      out.mount_fixed[i] = entry.fixed;
    }
  }
}

void merge_hooks(const ConfigSources& sources, SiteConfig& out) {
  for (const auto& file : sources.hooks) {
    bool empty = file.content.find_first_not_of(" \t\r\n") == std::string::npos;
    auto same =
        std::find_if(out.hooks.begin(), out.hooks.end(), [&](const HookSetting& h) { return h.name == file.name; });
    if (same != out.hooks.end() && same->fixed && !file.site) {
      out.warnings.push_back(
          fmt::format("{}: the hook `{}` is fixed by the site ({}); ignored", file.path, file.name, same->origin));
    } else if (same != out.hooks.end() && empty) {
      out.hooks.erase(same);  // an empty file of the same name disables a hook
    } else if (same != out.hooks.end()) {
      *same = HookSetting{file.name, file.path, file.path, file.site && hook_is_fixed(file.content)};
    } else if (!empty) {
      out.hooks.push_back(HookSetting{file.name, file.path, file.path, file.site && hook_is_fixed(file.content)});
    }
  }
}

}  // namespace

const OptionSetting* SiteConfig::option(std::string_view key) const {
  const OptionSetting* found = nullptr;
  for (const auto& o : options) {
    if (o.key == key) found = &o;
  }
  return found;
}

const EnvSetting* SiteConfig::fixed_env(std::string_view key) const {
  for (const auto& e : env) {
    if (e.key == key && e.fixed) return &e;
  }
  return nullptr;
}

std::vector<OptionSetting> parse_conf(const ConfigFile& file, const OptionTable& known) {
  std::vector<OptionSetting> settings;
  for_each_line(file, [&](int number, std::string_view line) {
    bool fixed = is_fixed_line(file, number, line);
    auto eq = line.find('=');
    if (eq == std::string_view::npos) bad_line(file, number, "expected KEY = VALUE", kKeyHint);
    std::string key(trim(line.substr(0, eq)));
    std::string_view value = unquote(trim(line.substr(eq + 1)));
    if (key.starts_with("--")) key = key.substr(2);
    auto info = known.find(key);
    if (key.empty() || info == known.end()) bad_line(file, number, fmt::format("unknown key `{}`", key), kKeyHint);
    if (value.empty()) bad_line(file, number, fmt::format("`{}` has no value", key));
    std::string v(value);
    if (info->second.flag) {
      auto flag = flag_value(value);
      if (!flag) bad_line(file, number, fmt::format("`{}` is a flag: true or false, not `{}`", key, value));
      v = *flag;
    }
    settings.push_back(OptionSetting{key, v, origin_of(file, number), fixed});
  });
  return settings;
}

std::vector<EnvSetting> parse_env_file(const ConfigFile& file) {
  std::vector<EnvSetting> settings;
  for_each_line(file, [&](int number, std::string_view line) {
    bool fixed = is_fixed_line(file, number, line);
    take_word(line, "export");
    auto eq = line.find('=');
    std::string key(eq == std::string_view::npos ? line : trim(line.substr(0, eq)));
    if (eq == std::string_view::npos || !is_variable_name(key)) {
      bad_line(file, number, fmt::format("expected KEY=VALUE, not `{}`", line),
               "one variable per line: NAME=VALUE, NAME of letters, digits and _");
    }
    settings.push_back(
        EnvSetting{key, std::string(unquote(trim(line.substr(eq + 1)))), origin_of(file, number), fixed});
  });
  return settings;
}

bool hook_is_fixed(std::string_view content) {
  for (const auto& line : split(content, '\n')) {
    if (trim(line) == "# hpclaunch: fixed") return true;
  }
  return false;
}

SiteConfig merge_config(const ConfigSources& sources, const OptionTable& known, const EnvList& env) {
  SiteConfig out;
  out.site_dir = sources.site_dir;
  out.user_dir = sources.user_dir;
  merge_options(sources, known, out);
  merge_env(sources, out);
  merge_mounts(sources, env, out);
  merge_hooks(sources, out);
  return out;
}

std::string expand_env_value(std::string_view value, const EnvList& env) { return expand_variables(value, env); }

std::string describe_config(const SiteConfig& c) {
  std::string out = fmt::format("site configuration: {}\nuser configuration: {}\n", c.site_dir,
                                c.user_dir.empty() ? "(none: no HOME)" : c.user_dir);
  auto fixed = [](bool f) { return f ? " (fixed)" : ""; };
  out += "options (hpclaunch.conf; the command line wins unless fixed):\n";
  for (const auto& o : c.options) out += fmt::format("  {} = {}    # {}{}\n", o.key, o.value, o.origin, fixed(o.fixed));
  out += "environment (environ.d), set in this order after the image's:\n";
  for (const auto& e : c.env) out += fmt::format("  {}={}    # {}{}\n", e.key, e.value, e.origin, fixed(e.fixed));
  out += "mounts (mounts.d):\n";
  for (std::size_t i = 0; i < c.mounts.size(); ++i) {
    const auto& m = c.mounts[i];
    out += fmt::format("  {} -> {}{}{}    # {}{}\n", m.source, m.target, m.read_only ? " ro" : "",
                       m.optional ? " (if present)" : "", m.origin, fixed(c.mount_fixed[i]));
  }
  out += "hooks (hooks.d), run in this order on each node:\n";
  for (const auto& h : c.hooks) out += fmt::format("  {}    # {}{}\n", h.name, h.path, fixed(h.fixed));
  for (const auto& w : c.warnings) out += fmt::format("warning: {}\n", w);
  return out;
}

}  // namespace hl::config
