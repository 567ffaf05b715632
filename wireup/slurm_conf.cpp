#include "wireup/slurm_conf.hpp"

#include "common/strings.hpp"

namespace hl::wireup {
namespace {

std::string_view trim(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> slurm_conf_value(std::string_view text, std::string_view key) {
  std::optional<std::string> found;
  std::string wanted = lowercase(key);
  for (const auto& raw : split(text, '\n')) {
    std::string_view line = raw;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    auto eq = line.find('=');
    if (eq == std::string_view::npos || lowercase(trim(line.substr(0, eq))) != wanted) continue;
    found = std::string(trim(line.substr(eq + 1)));
  }
  return found;
}

}  // namespace hl::wireup
