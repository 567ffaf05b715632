#pragma once
// The binding plan: which PUs, NUMA node, GPU and NIC each local rank of a
// node gets. A pure function of the node's TopologyInfo and the request, so
// it is unit-tested on synthetic and XML topologies and printed by
// `hpclaunch topology` exactly as the holder computes it.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "devices/cpu_list.hpp"
#include "devices/topology_info.hpp"

namespace hl::devices {

// Same type as image::EnvList; devices does not depend on image.
using EnvList = std::vector<std::pair<std::string, std::string>>;

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

struct PlanRequest {
  CpuList allowed;  // PUs the ranks may use (their affinity); empty = all
  int local_ranks = 1;
  int cpus_per_rank = 0;  // cores per rank (-c); 0 = allowed cores / ranks, at least 1
  BindPolicy policy = BindPolicy::automatic;
  GpuSelection gpus = GpuSelection::all;
  // The ranks' own values: a CUDA_VISIBLE_DEVICES restriction (Slurm --gpus)
  // is narrowed, never widened; a UCX_NET_DEVICES the user set is left alone.
  std::optional<std::string> cuda_visible_devices;
  std::optional<std::string> ucx_net_devices;
};

struct BoundCore {
  int index = 0;  // hwloc logical core index
  CpuList pus;    // its allowed PUs
};

struct RankBinding {
  int local_rank = 0;
  CpuList pus;
  std::vector<BoundCore> cores;
  int numa = -1;  // os-index of the NUMA node holding all its PUs, -1 if none does
  EnvList env;    // CUDA_VISIBLE_DEVICES, UCX_NET_DEVICES ... to set in the rank
};

struct BindingPlan {
  BindPolicy policy = BindPolicy::automatic;
  GpuSelection gpus = GpuSelection::all;
  int cpus_per_rank = 1;
  bool oversubscribed = false;  // some core serves more than one rank
  std::vector<RankBinding> ranks;
  std::vector<std::string> warnings;
};

// Throws hl::Error when no allowed PU exists in the topology or ranks < 1.
BindingPlan plan_bindings(const TopologyInfo& topology, const PlanRequest& request);

// `binding` limited to `allowed` (cores with no PU left are dropped).
RankBinding restricted_to(const RankBinding& binding, const CpuList& allowed);

}  // namespace hl::devices
