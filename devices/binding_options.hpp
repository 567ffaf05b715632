#pragma once
// How the ranks of a node are bound, as the user asked for it (--bind,
// --gpus, -c): parsed once on the front end, carried to
// every holder and rank in the launch spec.
#include <string_view>

#include <nlohmann/json.hpp>

namespace hl::devices {

// none: every rank gets the whole allowed set. core: each rank its own cores,
// packed in order (block). numa/socket: each rank a whole NUMA node/package.
// automatic ("auto"): own contiguous cores, ranks spread evenly over packages
// and NUMA nodes.
enum class BindPolicy { none, core, numa, socket, automatic };
// all: ranks see every GPU they are allowed (no variable set). per_rank:
// CUDA_VISIBLE_DEVICES = the GPU(s) nearest to the rank's cores.
enum class GpuSelection { none, all, per_rank };

// Throw hl::Error naming the accepted values.
BindPolicy parse_bind_policy(std::string_view text);
GpuSelection parse_gpu_selection(std::string_view text);
std::string_view to_string(BindPolicy policy);
std::string_view to_string(GpuSelection gpus);

struct BindingOptions {
  BindPolicy policy = BindPolicy::automatic;
  GpuSelection gpus = GpuSelection::all;
  int cpus_per_rank = 0;  // cores per rank (-c); 0 = allowed cores / ranks
};

void to_json(nlohmann::json& j, const BindingOptions& o);
void from_json(const nlohmann::json& j, BindingOptions& o);

}  // namespace hl::devices
