#pragma once
// A two-package node in hwloc 2 XML, each package with 4 cores x 2 PUs, one
// NUMA node, one NVIDIA GPU and one InfiniBand HCA. Bus ids are chosen so
// that PCI order and package order disagree: package 0's devices sort last.
#include <string>

#include <fmt/format.h>

namespace hl::devices {

inline std::string two_package_xml() {
  auto mask = [](int first, int count) { return fmt::format("0x{:08x}", ((1u << count) - 1) << first); };
  auto sets = [&](int first, int count, int node) {
    return fmt::format(R"(cpuset="{0}" complete_cpuset="{0}" nodeset="0x{1:08x}" complete_nodeset="0x{1:08x}")",
                       mask(first, count), 1u << node);
  };
  std::string packages;
  for (int p = 0; p < 2; ++p) {
    int first = 8 * p;
    std::string cores;
    for (int c = 0; c < 4; ++c) {
      int pu = first + 2 * c;
      cores += fmt::format(R"(<object type="Core" os_index="{}" {}>
  <object type="PU" os_index="{}" {}/><object type="PU" os_index="{}" {}/></object>
)",
                           c, sets(pu, 2, p), pu, sets(pu, 1, p), pu + 1, sets(pu + 1, 1, p));
    }
    int bus = p == 0 ? 0xb1 : 0x17;
    int port_state = p == 0 ? 4 : 1;  // package 1's HCA: port 1 down, port 2 up
    packages += fmt::format(R"(<object type="Package" os_index="{p}" {sets}>
<object type="NUMANode" os_index="{p}" {sets} local_memory="1073741824"/>
{cores}<object type="Bridge" bridge_type="0-1" depth="0" bridge_pci="0000:[{bus:02x}-{nicbus:02x}]">
  <object type="PCIDev" pci_busid="0000:{bus:02x}:00.0"
          pci_type="0302 [10de:2330] [10de:16c1] a1" pci_link_speed="0.0">
    <object type="OSDev" name="cuda{p}" osdev_type="5" subtype="CUDA"/>
  </object>
  <object type="PCIDev" pci_busid="0000:{nicbus:02x}:00.0"
          pci_type="0207 [15b3:101b] [15b3:0007] 00" pci_link_speed="0.0">
    <object type="OSDev" name="mlx5_{p}" osdev_type="3">
      <info name="Port1State" value="{state}"/><info name="Port2State" value="4"/>
    </object>
    <object type="OSDev" name="ib{p}" osdev_type="2"/>
  </object>
</object>
</object>
)",
                            fmt::arg("p", p), fmt::arg("sets", sets(first, 8, p)), fmt::arg("cores", cores),
                            fmt::arg("bus", bus), fmt::arg("nicbus", bus + 1), fmt::arg("state", port_state));
  }
  return fmt::format(R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE topology SYSTEM "hwloc2.dtd">
<topology version="2.0">
<object type="Machine" os_index="0" cpuset="0x0000ffff" complete_cpuset="0x0000ffff" allowed_cpuset="0x0000ffff"
        nodeset="0x00000003" complete_nodeset="0x00000003" allowed_nodeset="0x00000003">
{}</object>
</topology>
)",
                     packages);
}

}  // namespace hl::devices
