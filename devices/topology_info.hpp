#pragma once
// What the binding plan needs to know about a node, as plain data: no hwloc
// types, so the planner and its tests never touch hwloc.
#include <string>
#include <vector>

#include "devices/cpu_list.hpp"

namespace hl::devices {

// A package or a NUMA node.
struct Domain {
  int os_index = -1;
  CpuList pus;
};

struct Core {
  int index = 0;     // hwloc logical index: unique, unlike Linux core ids
  int package = -1;  // index into TopologyInfo::packages, -1 if unknown
  int numa = -1;     // index into TopologyInfo::numa_nodes, -1 if unknown
  CpuList pus;       // its hardware threads, os-indexes
};

struct IoDevice {
  std::string name;       // OS device ("cuda0", "mlx5_0", "eth0"), else the PCI bus id
  std::string pci_busid;  // "0000:3b:00.0", empty when hwloc saw no PCI device
  unsigned vendor_id = 0;
  unsigned device_id = 0;
  unsigned class_id = 0;
  // NICs: an RDMA device (hwloc "OpenFabrics": InfiniBand, RoCE, Omni-Path)
  // that UCX and verbs can use, not just an IP interface.
  bool openfabrics = false;
  int port = 1;        // first active port of an OpenFabrics device
  std::string netdev;  // its IP interface ("ib0"), if any
  CpuList local_pus;   // the PUs this device is attached to
};

struct TopologyInfo {
  std::vector<Domain> packages;
  std::vector<Domain> numa_nodes;
  std::vector<Core> cores;     // in hwloc logical order
  std::vector<IoDevice> gpus;  // NVIDIA GPUs, sorted by PCI bus id (= CUDA PCI_BUS_ID order)
  std::vector<IoDevice> nics;  // sorted by PCI bus id

  CpuList all_pus() const {
    CpuList all;
    for (const auto& core : cores) all.insert(all.end(), core.pus.begin(), core.pus.end());
    return normalized(std::move(all));
  }
};

}  // namespace hl::devices
