#include "wireup/join_protocol.hpp"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/json.hpp"

namespace hl::wireup {
namespace {

bool launcher_owned(std::string_view key) {
  return key.starts_with("SLURM_") || key.starts_with("PMIX_") || key.starts_with("OMPI_") ||
         key.starts_with("PRTE_") || key.starts_with("PMI_");
}

int int_from(const EnvList& env, std::initializer_list<std::string_view> keys, int fallback) {
  for (auto key : keys) {
    for (const auto& [k, v] : env) {
      if (k == key) {
        char* end = nullptr;
        long value = std::strtol(v.c_str(), &end, 10);
        if (end != v.c_str()) return static_cast<int>(value);
      }
    }
  }
  return fallback;
}

// SLURM_STEP_TASKS_PER_NODE is "2(x3),1": tasks of node SLURM_NODEID.
int slurm_local_size(const EnvList& env) {
  std::string spec = env_value(env, "SLURM_STEP_TASKS_PER_NODE");
  int node = int_from(env, {"SLURM_NODEID"}, -1);
  if (spec.empty() || node < 0) return 0;
  int index = 0;
  std::size_t pos = 0;
  while (pos < spec.size()) {
    std::size_t comma = spec.find(',', pos);
    std::string item = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    int tasks = std::atoi(item.c_str());
    int repeat = 1;
    if (auto x = item.find("(x"); x != std::string::npos) repeat = std::atoi(item.c_str() + x + 2);
    if (node < index + repeat) return tasks;
    index += repeat;
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return 0;
}

}  // namespace

std::string encode(const JoinRequest& r) { return to_wire(r); }
std::string encode(const JoinReply& r) { return to_wire(r); }

JoinRequest decode_request(std::string_view text) {
  return decode_json<JoinRequest>(text, "join request on the rendezvous socket");
}

JoinReply decode_reply(std::string_view text) {
  return decode_json<JoinReply>(text, "join reply on the rendezvous socket");
}

JoinRequest request_from_environment(const EnvList& env) {
  JoinRequest r;
  r.rank = int_from(env, {"OMPI_COMM_WORLD_RANK", "SLURM_PROCID", "PMIX_RANK"}, -1);
  r.local_rank = int_from(env, {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"}, -1);
  r.local_size = int_from(env, {"OMPI_COMM_WORLD_LOCAL_SIZE"}, 0);
  if (r.local_size == 0) r.local_size = slurm_local_size(env);
  r.cuda_visible_devices = env_value(env, "CUDA_VISIBLE_DEVICES");
  return r;
}

bool kept_by_cleanenv(std::string_view key) {
  static constexpr std::string_view kKept[] = {
      "TERM", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "CUDA_VISIBLE_DEVICES"};
  for (auto k : kKept) {
    if (key == k) return true;
  }
  return key.starts_with("LC_");
}

bool unset_pattern_matches(std::string_view pattern, std::string_view key) {
  if (pattern.ends_with('*')) return key.starts_with(pattern.substr(0, pattern.size() - 1));
  return key == pattern;
}

void check_unset_pattern(std::string_view pattern) {
  std::string_view name = pattern.ends_with('*') ? pattern.substr(0, pattern.size() - 1) : pattern;
  bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
  if (!ok) {
    throw Error(fmt::format("--unset-env `{}`: expected a variable name or a PREFIX*", pattern),
                "e.g. --unset-env PYTHONPATH --unset-env 'CONDA_*'");
  }
}

std::vector<std::string> compose_environment(const EnvLayers& layers) {
  auto unset = [&](const std::string& key) {
    return std::any_of(layers.unset.begin(), layers.unset.end(),
                       [&](const std::string& p) { return unset_pattern_matches(p, key); });
  };
  // The rank's identity (SLURM_PROCID, PMIX_RANK, OMPI_COMM_WORLD_RANK ...)
  // is its own; MCA parameters are tuning that configuration may set.
  auto identity = [&](const std::string& key) {
    return launcher_owned(key) && key.find("_MCA_") == std::string::npos && env_has(layers.own, key);
  };
  EnvList merged;
  for (const auto& [k, v] : layers.own) {
    if (k.starts_with("HPCLAUNCH_INTERNAL_")) continue;
    bool launcher = launcher_owned(k);
    if (!launcher && (unset(k) || (layers.cleanenv && !kept_by_cleanenv(k)))) continue;
    env_set(merged, k, v);
  }
  for (const auto& [k, v] : layers.image) {
    if (!launcher_owned(k) && !unset(k)) env_set(merged, k, v);
  }
  for (const auto& [k, v] : layers.site) {
    if (!identity(k) && !unset(k)) env_set(merged, k, expand_variables(v, merged));
  }
  for (const auto& [k, v] : layers.device) env_set(merged, k, v);
  for (const auto& [k, v] : layers.user) {
    if (!identity(k)) env_set(merged, k, v);
  }
  return env_assignments(merged);
}

}  // namespace hl::wireup
