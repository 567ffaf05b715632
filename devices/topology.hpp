#pragma once
// Owner of an hwloc topology and its loaders: this machine, a synthetic
// description ("pack:2 numa:2 core:16 pu:2") or an XML export. describe()
// turns it into the plain TopologyInfo the binding plan works on.
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "devices/topology_info.hpp"

struct hwloc_topology;

namespace hl::devices {

class Topology {
 public:
  // This machine, PCI and OS devices included so GPUs and NICs are visible.
  // PUs outside this process's cgroup are kept: the ranks' allowed set is
  // a separate input of the plan (the holder's own cpuset is not theirs).
  static Topology load_system();
  // hwloc 2.9 wants the last level to be PUs: "pack:2 core:4 pu:1".
  static Topology load_synthetic(std::string_view description);
  static Topology load_xml_file(const std::string& path);
  static Topology load_xml_string(std::string_view xml);

  hwloc_topology* get() const noexcept { return topology_.get(); }
  TopologyInfo describe() const;
  std::string export_xml() const;

 private:
  struct Destroy {
    void operator()(hwloc_topology* t) const noexcept;
  };
  using Handle = std::unique_ptr<hwloc_topology, Destroy>;
  explicit Topology(Handle handle) : topology_(std::move(handle)) {}
  // init, keep GPUs/NICs, set_source(), load; `what` names the source in errors.
  static Topology load_with(std::string_view what, unsigned long flags,
                            const std::function<int(hwloc_topology*)>& set_source);

  Handle topology_;
};

}  // namespace hl::devices
