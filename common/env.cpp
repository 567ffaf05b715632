#include "common/env.hpp"

#include <algorithm>

extern char** environ;

namespace hl {

std::string env_value(const EnvList& env, std::string_view key) {
  for (const auto& [k, v] : env) {
    if (k == key) return v;
  }
  return {};
}

bool env_has(const EnvList& env, std::string_view key) {
  return std::any_of(env.begin(), env.end(), [&](const auto& kv) { return kv.first == key; });
}

void env_set(EnvList& env, const std::string& key, const std::string& value) {
  auto it = std::find_if(env.begin(), env.end(), [&](const auto& kv) { return kv.first == key; });
  if (it == env.end()) {
    env.emplace_back(key, value);
  } else {
    it->second = value;
  }
}

EnvList env_overlay(EnvList base, const EnvList& extra) {
  for (const auto& [k, v] : extra) env_set(base, k, v);
  return base;
}

std::vector<std::string> env_assignments(const EnvList& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

std::optional<std::pair<std::string, std::string>> split_assignment(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) return std::nullopt;
  return std::pair{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

std::string expand_variables(std::string_view value, const EnvList& env) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto close = value[i] == '$' && i + 1 < value.size() && value[i + 1] == '{' ? value.find('}', i + 2)
                                                                                : std::string_view::npos;
    if (close == std::string_view::npos) {
      out += value[i];
      continue;
    }
    out += env_value(env, value.substr(i + 2, close - i - 2));
    i = close;
  }
  return out;
}

EnvList environment_of_this_process() {
  EnvList env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (auto kv = split_assignment(*e)) env.push_back(std::move(*kv));
  }
  return env;
}

}  // namespace hl
