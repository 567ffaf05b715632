#include "import/layers/layers_config.hpp"

#include <set>
#include <vector>

#include <fmt/format.h>

namespace hl::import {
namespace {

const nlohmann::json& run_config(const nlohmann::json& image_config) {
  static const nlohmann::json empty = nlohmann::json::object();
  if (!image_config.is_object()) return empty;
  auto it = image_config.find("config");
  return it != image_config.end() && it->is_object() ? *it : empty;
}

std::vector<std::string> string_list(const nlohmann::json& config, const char* key) {
  std::vector<std::string> out;
  auto it = config.find(key);
  if (it == config.end() || !it->is_array()) return out;
  for (const auto& item : *it) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

std::string string_field(const nlohmann::json& config, const char* key) {
  auto it = config.find(key);
  return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The variable an /etc/environment line sets ("" for comments and blanks),
// read the way parse_environment_file() reads it.
std::string_view key_of_line(std::string_view line) {
  line = trim(line);
  if (line.empty() || line.front() == '#') return {};
  if (line.starts_with("export ")) line = trim(line.substr(7));
  auto eq = line.find('=');
  return eq == std::string_view::npos ? std::string_view() : trim(line.substr(0, eq));
}

// The reader trims blanks and strips one pair of matching outer quotes:
// quote values it would change, with the quote character that keeps them.
std::string quoted_value(std::string_view value) {
  bool blank_edges = !value.empty() && (trim(value).size() != value.size());
  bool quote_pair =
      value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front();
  if (!blank_edges && !quote_pair) return std::string(value);
  char quote = (value.front() == '"' || value.back() == '"') ? '\'' : '"';
  return fmt::format("{}{}{}", quote, value, quote);
}

}  // namespace

std::string environment_with_config(std::string_view existing, const nlohmann::json& image_config,
                                    std::string* skipped) {
  std::vector<std::pair<std::string, std::string>> env;
  std::set<std::string, std::less<>> keys;
  for (const auto& item : string_list(run_config(image_config), "Env")) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string key = item.substr(0, eq);
    std::string value = item.substr(eq + 1);
    keys.insert(key);  // a value we cannot write still overrides the image's line
    if (value.find('\n') != std::string::npos) {
      if (skipped != nullptr) *skipped += (skipped->empty() ? "" : " ") + key;
      continue;
    }
    env.emplace_back(std::move(key), std::move(value));
  }
  std::string out;
  std::size_t start = 0;
  while (start < existing.size()) {
    auto end = existing.find('\n', start);
    if (end == std::string_view::npos) end = existing.size();
    std::string_view line = existing.substr(start, end - start);
    if (!keys.contains(key_of_line(line))) out += fmt::format("{}\n", line);
    start = end + 1;
  }
  for (const auto& [key, value] : env) out += fmt::format("{}={}\n", key, quoted_value(value));
  return out;
}

std::string hpclaunch_config_json(const nlohmann::json& image_config) {
  const nlohmann::json& config = run_config(image_config);
  nlohmann::json out = {
      {"Env", string_list(config, "Env")},
      {"WorkingDir", string_field(config, "WorkingDir")},
      {"Entrypoint", string_list(config, "Entrypoint")},
      {"Cmd", string_list(config, "Cmd")},
      {"User", string_field(config, "User")},
  };
  return out.dump(2) + "\n";
}

}  // namespace hl::import
