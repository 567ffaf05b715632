#include "devices/binding_options.hpp"

#include <fmt/format.h>

#include "common/error.hpp"

namespace hl::devices {

BindPolicy parse_bind_policy(std::string_view text) {
  for (auto p : {BindPolicy::none, BindPolicy::core, BindPolicy::numa, BindPolicy::socket, BindPolicy::automatic}) {
    if (text == to_string(p)) return p;
  }
  throw Error(fmt::format("unknown binding policy `{}`", text), "use --bind=none|core|numa|socket|auto");
}

GpuSelection parse_gpu_selection(std::string_view text) {
  for (auto g : {GpuSelection::none, GpuSelection::all, GpuSelection::per_rank}) {
    if (text == to_string(g)) return g;
  }
  throw Error(fmt::format("unknown GPU selection `{}`", text), "use --gpus=none|all|per-rank");
}

std::string_view to_string(BindPolicy policy) {
  switch (policy) {
    case BindPolicy::none:
      return "none";
    case BindPolicy::core:
      return "core";
    case BindPolicy::numa:
      return "numa";
    case BindPolicy::socket:
      return "socket";
    case BindPolicy::automatic:
      return "auto";
  }
  return "auto";
}

std::string_view to_string(GpuSelection gpus) {
  switch (gpus) {
    case GpuSelection::none:
      return "none";
    case GpuSelection::all:
      return "all";
    case GpuSelection::per_rank:
      return "per-rank";
  }
  return "all";
}

void to_json(nlohmann::json& j, const BindingOptions& o) {
  j = {{"policy", to_string(o.policy)}, {"gpus", to_string(o.gpus)}, {"cpus_per_rank", o.cpus_per_rank}};
}

void from_json(const nlohmann::json& j, BindingOptions& o) {
  o.policy = parse_bind_policy(j.at("policy").get<std::string>());
  o.gpus = parse_gpu_selection(j.at("gpus").get<std::string>());
  o.cpus_per_rank = j.at("cpus_per_rank").get<int>();
}

}  // namespace hl::devices
