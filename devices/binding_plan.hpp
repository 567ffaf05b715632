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

#include "common/env.hpp"
#include "devices/binding_options.hpp"
#include "devices/cpu_list.hpp"
#include "devices/topology_info.hpp"

namespace hl::devices {

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
