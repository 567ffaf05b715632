#include "image/etc_files.hpp"

#include <fmt/format.h>

#include "common/strings.hpp"

namespace hl::image {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Whether a colon-separated file already has `id` in field `field`.
bool has_id(std::string_view content, std::size_t field, unsigned id) {
  for (const auto& line : split(content, '\n')) {
    auto fields = split(line, ':');
    if (fields.size() > field && fields[field] == std::to_string(id)) return true;
  }
  return false;
}

std::string with_line(std::string_view content, const std::string& line) {
  std::string out(content);
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out + line + '\n';
}

}  // namespace

EnvList parse_environment_file(std::string_view text) {
  EnvList env;
  for (const auto& raw : split(text, '\n')) {
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("export ")) line = trim(line.substr(7));
    auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string_view key = trim(line.substr(0, eq));
    std::string_view value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    env.emplace_back(std::string(key), std::string(value));
  }
  return env;
}

std::string passwd_with_user(std::string_view image_passwd, const UserEntry& u) {
  if (has_id(image_passwd, 2, u.uid)) return std::string(image_passwd);
  return with_line(image_passwd, fmt::format("{}:x:{}:{}:{}:{}:{}", u.name, u.uid, u.gid, u.gecos, u.home, u.shell));
}

std::string group_with_user(std::string_view image_group, const UserEntry& u) {
  if (has_id(image_group, 2, u.gid)) return std::string(image_group);
  return with_line(image_group, fmt::format("{}:x:{}:", u.group_name, u.gid));
}

}  // namespace hl::image
