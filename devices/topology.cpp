#include "devices/topology.hpp"

#include <hwloc.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "common/error.hpp"

namespace hl::devices {
namespace {

constexpr unsigned kNvidiaVendor = 0x10de;

CpuList to_cpu_list(hwloc_const_bitmap_t set) {
  CpuList out;
  if (set == nullptr || hwloc_bitmap_weight(set) < 0) return out;  // < 0: infinite set
  unsigned index;
  hwloc_bitmap_foreach_begin(index, set) out.push_back(static_cast<int>(index));
  hwloc_bitmap_foreach_end();
  return out;
}

int os_index_of(hwloc_obj_t obj) {
  return obj->os_index == HWLOC_UNKNOWN_INDEX ? static_cast<int>(obj->logical_index) : static_cast<int>(obj->os_index);
}

std::vector<Domain> domains_of(hwloc_topology_t t, hwloc_obj_type_t type) {
  std::vector<Domain> out;
  for (hwloc_obj_t obj = nullptr; (obj = hwloc_get_next_obj_by_type(t, type, obj)) != nullptr;) {
    out.push_back({os_index_of(obj), to_cpu_list(obj->cpuset)});
  }
  return out;
}

int domain_containing(const std::vector<Domain>& domains, const CpuList& pus) {
  for (std::size_t i = 0; i < domains.size(); ++i) {
    if (!pus.empty() && contains_all(domains[i].pus, pus)) return static_cast<int>(i);
  }
  return -1;
}

std::vector<Core> cores_of(hwloc_topology_t t, const TopologyInfo& info) {
  // Some VMs and non-x86 machines report no cores: then each PU is one.
  hwloc_obj_type_t type = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
  std::vector<Core> out;
  for (hwloc_obj_t obj = nullptr; (obj = hwloc_get_next_obj_by_type(t, type, obj)) != nullptr;) {
    CpuList pus = to_cpu_list(obj->cpuset);
    if (pus.empty()) continue;
    out.push_back({static_cast<int>(obj->logical_index), domain_containing(info.packages, pus),
                   domain_containing(info.numa_nodes, pus), std::move(pus)});
  }
  return out;
}

// ---- I/O devices -----------------------------------------------------------

enum class Role { none, gpu, nic };

Role role_of_pci(const hwloc_obj_attr_u::hwloc_pcidev_attr_s& pci) {
  if (pci.vendor_id == kNvidiaVendor && (pci.class_id == 0x0300 || pci.class_id == 0x0302)) return Role::gpu;
  if (pci.class_id == 0x0200 || pci.class_id == 0x0207) return Role::nic;  // Ethernet, InfiniBand
  return Role::none;
}

bool is_nvidia_osdev(hwloc_obj_t osdev) {
  std::string_view name = osdev->name ? osdev->name : "";
  std::string_view subtype = osdev->subtype ? osdev->subtype : "";
  const char* vendor = hwloc_obj_get_info_by_name(osdev, "GPUVendor");
  return subtype == "CUDA" || name.starts_with("cuda") || name.starts_with("nvml") ||
         (vendor != nullptr && std::strstr(vendor, "NVIDIA") != nullptr);
}

Role role_of_osdev(hwloc_obj_t osdev) {
  switch (osdev->attr->osdev.type) {
    case HWLOC_OBJ_OSDEV_OPENFABRICS:
    case HWLOC_OBJ_OSDEV_NETWORK:
      return Role::nic;
    case HWLOC_OBJ_OSDEV_GPU:
    case HWLOC_OBJ_OSDEV_COPROC:
      return is_nvidia_osdev(osdev) ? Role::gpu : Role::none;
    default:
      return Role::none;
  }
}

// The lowest port hwloc reports ACTIVE (state 4); port 1 when it says nothing.
int active_port(hwloc_obj_t osdev) {
  int best = 0;
  for (unsigned i = 0; i < osdev->infos_count; ++i) {
    std::string_view name = osdev->infos[i].name;
    if (!name.starts_with("Port") || !name.ends_with("State")) continue;
    if (std::string_view(osdev->infos[i].value) != "4") continue;
    int port = std::atoi(std::string(name.substr(4)).c_str());
    if (port > 0 && (best == 0 || port < best)) best = port;
  }
  return best > 0 ? best : 1;
}

hwloc_obj_t pci_ancestor(hwloc_obj_t obj) {
  for (hwloc_obj_t p = obj->parent; p != nullptr; p = p->parent) {
    if (p->type == HWLOC_OBJ_PCI_DEVICE) return p;
  }
  return nullptr;
}

CpuList local_pus(hwloc_topology_t t, hwloc_obj_t obj) {
  hwloc_obj_t ancestor = hwloc_get_non_io_ancestor_obj(t, obj);
  return ancestor ? to_cpu_list(ancestor->cpuset) : CpuList{};
}

IoDevice from_pci(hwloc_topology_t t, hwloc_obj_t pci) {
  const auto& a = pci->attr->pcidev;
  IoDevice d;
  d.pci_busid = fmt::format("{:04x}:{:02x}:{:02x}.{:x}", a.domain, a.bus, a.dev, a.func);
  d.name = d.pci_busid;
  d.vendor_id = a.vendor_id;
  d.device_id = a.device_id;
  d.class_id = a.class_id;
  d.local_pus = local_pus(t, pci);
  return d;
}

// Folds an OS device into the device it belongs to: the name users know
// ("cuda0", "mlx5_0") replaces the bus id; an RDMA device wins over its netdev.
void merge_osdev(IoDevice& d, hwloc_obj_t osdev, Role role) {
  std::string name = osdev->name ? osdev->name : "";
  if (role == Role::gpu) {
    if (d.name == d.pci_busid || name.starts_with("cuda")) d.name = name;
  } else if (osdev->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS) {
    d.openfabrics = true;
    d.port = active_port(osdev);
    d.name = name;
  } else {
    d.netdev = name;
    if (!d.openfabrics) d.name = name;
  }
}

struct IoScan {
  std::map<std::string, IoDevice> gpus, nics;  // by PCI bus id, or name when none
};

void scan_pci(hwloc_topology_t t, IoScan& scan) {
  for (hwloc_obj_t pci = nullptr; (pci = hwloc_get_next_pcidev(t, pci)) != nullptr;) {
    Role role = role_of_pci(pci->attr->pcidev);
    if (role == Role::none) continue;
    IoDevice d = from_pci(t, pci);
    (role == Role::gpu ? scan.gpus : scan.nics).emplace(d.pci_busid, std::move(d));
  }
}

void scan_osdevs(hwloc_topology_t t, IoScan& scan) {
  for (hwloc_obj_t os = nullptr; (os = hwloc_get_next_osdev(t, os)) != nullptr;) {
    Role role = role_of_osdev(os);
    if (role == Role::none) continue;
    auto& devices = role == Role::gpu ? scan.gpus : scan.nics;
    hwloc_obj_t pci = pci_ancestor(os);
    IoDevice fresh;
    if (pci != nullptr) {
      fresh = from_pci(t, pci);
    } else {
      fresh.name = os->name ? os->name : "";
      fresh.local_pus = local_pus(t, os);
    }
    std::string key = pci ? fresh.pci_busid : fresh.name;
    auto it = devices.try_emplace(key, std::move(fresh)).first;
    merge_osdev(it->second, os, role);
  }
}

std::vector<IoDevice> values_of(std::map<std::string, IoDevice>& by_key) {
  std::vector<IoDevice> out;
  for (auto& [key, device] : by_key) out.push_back(std::move(device));
  // Devices with a bus id first, in bus order: that is CUDA's PCI_BUS_ID order.
  std::stable_partition(out.begin(), out.end(), [](const IoDevice& d) { return !d.pci_busid.empty(); });
  return out;
}

}  // namespace

void Topology::Destroy::operator()(hwloc_topology* t) const noexcept { hwloc_topology_destroy(t); }

Topology Topology::load_with(std::string_view what, unsigned long flags,
                             const std::function<int(hwloc_topology*)>& set_source) {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) throw_errno("hwloc_topology_init");
  Handle topology(raw);
  // hwloc drops I/O objects by default. "Important" keeps GPUs, NICs and
  // their OS devices (cuda0, mlx5_0) without every bridge and USB hub.
  hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  hwloc_topology_set_flags(raw, flags);
  errno = 0;  // hwloc does not always set it on failure
  if (set_source(raw) != 0 || hwloc_topology_load(raw) != 0) {
    int err = errno;
    throw Error(fmt::format("load hwloc topology from {}: {}", what, std::strerror(err ? err : EINVAL)));
  }
  return Topology(std::move(topology));
}

Topology Topology::load_system() {
  return load_with("this machine", HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED, [](hwloc_topology*) { return 0; });
}

Topology Topology::load_synthetic(std::string_view description) {
  std::string text(description);
  try {
    return load_with(fmt::format("synthetic `{}`", text), 0,
                     [&](hwloc_topology* t) { return hwloc_topology_set_synthetic(t, text.c_str()); });
  } catch (const Error& e) {
    throw Error(e.what(), "describe levels down to PUs, e.g. \"pack:2 numa:2 core:16 pu:2\"");
  }
}

Topology Topology::load_xml_file(const std::string& path) {
  try {
    return load_with(fmt::format("XML `{}`", path), 0,
                     [&](hwloc_topology* t) { return hwloc_topology_set_xml(t, path.c_str()); });
  } catch (const Error& e) {
    throw Error(e.what(), "give an hwloc XML export: lstopo --of xml > node.xml (HWLOC_XML_VERBOSE=1 says why)");
  }
}

Topology Topology::load_xml_string(std::string_view xml) {
  std::string buffer(xml);
  // hwloc wants the length including the terminating NUL.
  return load_with("an XML buffer", 0, [&](hwloc_topology* t) {
    return hwloc_topology_set_xmlbuffer(t, buffer.c_str(), static_cast<int>(buffer.size() + 1));
  });
}

TopologyInfo Topology::describe() const {
  hwloc_topology_t t = topology_.get();
  TopologyInfo info;
  info.packages = domains_of(t, HWLOC_OBJ_PACKAGE);
  info.numa_nodes = domains_of(t, HWLOC_OBJ_NUMANODE);
  info.cores = cores_of(t, info);
  IoScan scan;
  scan_pci(t, scan);
  scan_osdevs(t, scan);
  info.gpus = values_of(scan.gpus);
  info.nics = values_of(scan.nics);
  return info;
}

std::string Topology::export_xml() const {
  char* buffer = nullptr;
  int length = 0;
  if (hwloc_topology_export_xmlbuffer(topology_.get(), &buffer, &length, 0) != 0) {
    throw_errno("hwloc_topology_export_xmlbuffer");
  }
  std::string xml(buffer, length > 0 ? static_cast<std::size_t>(length - 1) : 0);
  hwloc_free_xmlbuffer(topology_.get(), buffer);
  return xml;
}

}  // namespace hl::devices
