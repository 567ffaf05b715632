#pragma once
// Which GPU and NIC each planned rank uses: the nearest by locality (most of
// the rank's PUs local to the device), balanced over equally near devices.
#include <vector>

#include "devices/binding_plan.hpp"

namespace hl::devices {

// Per rank: CUDA_VISIBLE_DEVICES + CUDA_DEVICE_ORDER=PCI_BUS_ID (--gpus=per-rank),
// UCX_NET_DEVICES + OMPI_MCA_btl_openib_if_include (nearest RDMA NIC, if any).
void add_device_env(const TopologyInfo& topology, const PlanRequest& request, BindingPlan& plan);

// For rank r, `picks[r]` devices out of `devices` (their local PUs): most PUs
// shared with the rank first, then the device local to fewer PUs (closer),
// then the least used, then the lowest index. No device serves more than
// `capacity` ranks. Returns indexes into `devices`, per rank, ascending.
std::vector<std::vector<int>> nearest_devices(const std::vector<CpuList>& ranks, const std::vector<CpuList>& devices,
                                              const std::vector<int>& picks, int capacity);

}  // namespace hl::devices
