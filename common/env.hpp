#pragma once
// Environments as ordered KEY=VALUE lists: the front end's, a step's, a
// rank's. One vocabulary for every directory (launcher, wireup, image,
// devices), so overlays are written once.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hl {

using EnvList = std::vector<std::pair<std::string, std::string>>;

// The value of `key` in `env`, "" when absent.
std::string env_value(const EnvList& env, std::string_view key);
bool env_has(const EnvList& env, std::string_view key);

// Replaces the value of `key` (keeping its place) or appends it.
void env_set(EnvList& env, const std::string& key, const std::string& value);
// `base` with every variable of `extra` set over it, in order.
EnvList env_overlay(EnvList base, const EnvList& extra);
// "KEY=VALUE" strings, as execve wants them.
std::vector<std::string> env_assignments(const EnvList& env);

// "KEY=VALUE" (the value may hold '='); nullopt without '=' or with an empty KEY.
std::optional<std::pair<std::string, std::string>> split_assignment(std::string_view text);

// ${VAR} in `value` from `env` (unset: empty, as a shell would); a `$` not
// followed by `{...}` stays as it is.
std::string expand_variables(std::string_view value, const EnvList& env);

// This process's environment (environ), in order.
EnvList environment_of_this_process();

}  // namespace hl
