#pragma once
// Which host device nodes, driver libraries and config a GPU or HCA job needs
// in the container. Discovery takes the roots as parameters (tests use a temp
// dir); the ldconfig parser and the bind planner are pure.
#include <string>
#include <string_view>
#include <vector>

#include "devices/binding_plan.hpp"

namespace hl::devices {

// Where the NVIDIA user-space driver lands in the container: its own
// directories, so nothing of the image is shadowed (NGC images already have
// them on LD_LIBRARY_PATH and PATH; with_driver_dir() adds them for others).
inline constexpr std::string_view kContainerDriverLibDir = "/usr/local/nvidia/lib64";
inline constexpr std::string_view kContainerDriverBinDir = "/usr/local/nvidia/bin";

struct DeviceBind {
  std::string source;  // host path
  std::string target;  // path in the container
  bool read_only = false;
};

struct DeviceRoots {
  std::string dev = "/dev";
  std::string etc = "/etc";
};

struct HostDevices {
  std::vector<std::string> nvidia_nodes;      // relative to DeviceRoots::dev: "nvidia0", "nvidia-caps"
  bool infiniband = false;                    // DeviceRoots::dev/infiniband has entries
  bool libibverbs_config = false;             // DeviceRoots::etc/libibverbs.d exists
  std::vector<std::string> driver_libraries;  // host paths
  std::string nvidia_smi;                     // host path, empty if none
};

// nvidia0.., nvidiactl, nvidia-uvm(-tools), nvidia-modeset, nvidia-caps (a
// directory); sorted. Absent root or no GPU: empty.
std::vector<std::string> list_nvidia_device_nodes(const std::string& dev_root);

// Host paths of the NVIDIA driver libraries (libcuda, libnvidia-ml, ...) in
// `ldconfig -p` output, for one architecture as ldconfig names it.
std::vector<std::string> parse_driver_libraries(std::string_view ldconfig_output, std::string_view arch = "x86-64");

// First executable `name` in a PATH-style list; empty if none.
std::string find_in_path(std::string_view name, std::string_view path_list);

// `ldconfig -p` of this host; empty when ldconfig cannot run.
std::string host_ldconfig_cache();

// Looks at the roots; the driver part only when ldconfig_output is given.
HostDevices discover_host_devices(const DeviceRoots& roots, std::string_view ldconfig_output,
                                  std::string_view path_list);

// Binds for the container: GPU nodes and driver (read-only) unless gpus is
// none, then /dev/infiniband and /etc/libibverbs.d (read-only) when hcas.
// The container is shared by all ranks of a node, so per-rank exposes every
// GPU too; CUDA_VISIBLE_DEVICES narrows each rank.
std::vector<DeviceBind> plan_device_binds(const HostDevices& host, const DeviceRoots& roots, GpuSelection gpus,
                                          bool hcas);

// `path_list` (LD_LIBRARY_PATH, PATH) with `dir` appended when some bind
// puts a file in it and the list lacks it.
std::string with_driver_dir(std::string_view path_list, std::string_view dir, const std::vector<DeviceBind>& binds);

}  // namespace hl::devices
