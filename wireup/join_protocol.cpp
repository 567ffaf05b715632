#include "wireup/join_protocol.hpp"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"

extern char** environ;

namespace hl::wireup {
namespace {

bool launcher_owned(std::string_view key) {
  return key.starts_with("SLURM_") || key.starts_with("PMIX_") || key.starts_with("OMPI_") ||
         key.starts_with("PRTE_") || key.starts_with("PMI_");
}

int int_from(const image::EnvList& env, std::initializer_list<std::string_view> keys, int fallback) {
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
int slurm_local_size(const image::EnvList& env) {
  std::string spec = image::env_value(env, "SLURM_STEP_TASKS_PER_NODE");
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

template <typename T>
T parse_json(std::string_view text, const char* what) {
  try {
    return nlohmann::json::parse(text).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(fmt::format("malformed {} on the rendezvous socket", what));
  }
}

}  // namespace

std::string encode(const JoinRequest& r) {
  return nlohmann::json{{"rank", r.rank},
                        {"local_rank", r.local_rank},
                        {"local_size", r.local_size},
                        {"allowed_cpus", r.allowed_cpus},
                        {"cuda_visible_devices", r.cuda_visible_devices}}
      .dump();
}

std::string encode(const JoinReply& r) {
  return nlohmann::json{{"ok", r.ok},
                        {"error", r.error},
                        {"hint", r.hint},
                        {"image_env", r.image_env},
                        {"exit_code", r.exit_code},
                        {"binding", r.binding},
                        {"library_dirs", r.library_dirs},
                        {"bin_dirs", r.bin_dirs}}
      .dump();
}

JoinRequest decode_request(std::string_view text) {
  auto j = parse_json<nlohmann::json>(text, "join request");
  try {
    return JoinRequest{j.at("rank").get<int>(), j.at("local_rank").get<int>(), j.at("local_size").get<int>(),
                       j.at("allowed_cpus").get<std::string>(), j.at("cuda_visible_devices").get<std::string>()};
  } catch (const nlohmann::json::exception&) {
    throw Error("malformed join request on the rendezvous socket");
  }
}

JoinReply decode_reply(std::string_view text) {
  auto j = parse_json<nlohmann::json>(text, "join reply");
  try {
    return JoinReply{j.at("ok").get<bool>(),
                     j.at("error").get<std::string>(),
                     j.at("hint").get<std::string>(),
                     j.at("image_env").get<image::EnvList>(),
                     j.at("exit_code").get<int>(),
                     j.at("binding").get<std::string>(),
                     j.at("library_dirs").get<std::vector<std::string>>(),
                     j.at("bin_dirs").get<std::vector<std::string>>()};
  } catch (const nlohmann::json::exception&) {
    throw Error("malformed join reply on the rendezvous socket");
  }
}

JoinRequest request_from_environment(const image::EnvList& env) {
  JoinRequest r;
  r.rank = int_from(env, {"OMPI_COMM_WORLD_RANK", "SLURM_PROCID", "PMIX_RANK"}, -1);
  r.local_rank = int_from(env, {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"}, -1);
  r.local_size = int_from(env, {"OMPI_COMM_WORLD_LOCAL_SIZE"}, 0);
  if (r.local_size == 0) r.local_size = slurm_local_size(env);
  r.cuda_visible_devices = image::env_value(env, "CUDA_VISIBLE_DEVICES");
  return r;
}

std::vector<std::string> compose_environment(const image::EnvList& own, const image::EnvList& image,
                                             const image::EnvList& device, const image::EnvList& user) {
  image::EnvList merged;
  auto set = [&merged](const std::string& key, const std::string& value) {
    auto it = std::find_if(merged.begin(), merged.end(), [&](const auto& kv) { return kv.first == key; });
    if (it == merged.end()) {
      merged.emplace_back(key, value);
    } else {
      it->second = value;
    }
  };
  for (const auto& [k, v] : own) {
    if (!k.starts_with("HPCLAUNCH_INTERNAL_")) set(k, v);
  }
  for (const auto& [k, v] : image) {
    if (!launcher_owned(k)) set(k, v);
  }
  for (const auto& [k, v] : device) set(k, v);
  for (const auto& [k, v] : user) set(k, v);
  std::vector<std::string> result;
  result.reserve(merged.size());
  for (const auto& [k, v] : merged) result.push_back(k + "=" + v);
  return result;
}

std::pair<std::string, std::string> parse_env_option(const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw Error(fmt::format("--env `{}`: expected KEY=VALUE", text), "e.g. --env OMP_NUM_THREADS=2");
  }
  return {text.substr(0, eq), text.substr(eq + 1)};
}

std::string rendezvous_name(uid_t uid, std::string_view job, std::string_view nonce) {
  return fmt::format("hpclaunch/{}/{}/{}", uid, job.empty() ? "nojob" : job, nonce);
}

image::EnvList environment_of_this_process() {
  image::EnvList env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

}  // namespace hl::wireup
