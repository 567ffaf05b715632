#pragma once
// Text and JSON views of a topology and a binding plan: `hpclaunch topology`,
// --dry-run, --report-bindings; and the JSON a holder sends a joining rank.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "devices/binding_plan.hpp"
#include "devices/topology_info.hpp"

namespace hl::devices {

// "2 packages, 4 NUMA nodes, 64 cores, 128 PUs, 1 GPU, 2 NICs" and one line
// per package, NUMA node, GPU and NIC.
std::string topology_to_text(const TopologyInfo& topology);
nlohmann::json topology_to_json(const TopologyInfo& topology);

// "cores 4-7 (pu 4-7,36-39), numa 0, CUDA_VISIBLE_DEVICES=1"
std::string describe_binding(const RankBinding& binding);
// "rank 3 (local 1) on node2: cores 4-7 (pu 4-7,36-39), numa 0, ..." — the
// --report-bindings line, without the "hpclaunch: " that log:: adds.
std::string binding_report_line(int rank, std::string_view node, const RankBinding& binding);

// Header, one "local N: ..." line per rank, then "warning: ..." lines.
std::string plan_to_text(const BindingPlan& plan);
nlohmann::json plan_to_json(const BindingPlan& plan);

// One rank's binding over the join socket; from_json throws hl::Error.
nlohmann::json rank_binding_to_json(const RankBinding& binding);
RankBinding rank_binding_from_json(const nlohmann::json& json);

}  // namespace hl::devices
