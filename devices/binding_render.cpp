#include "devices/binding_render.hpp"

#include <fmt/format.h>

#include "common/error.hpp"

namespace hl::devices {
namespace {

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

CpuList core_indexes(const std::vector<Core>& cores, const CpuList& pus) {
  CpuList out;
  for (const auto& core : cores) {
    if (contains_all(pus, core.pus)) out.push_back(core.index);
  }
  return out;
}

std::string domain_line(std::string_view kind, const Domain& d, const std::vector<Core>& cores) {
  return fmt::format("{} {}: cores {} (pu {})", kind, d.os_index, format_cpu_list(core_indexes(cores, d.pus)),
                     format_cpu_list(d.pus));
}

std::string device_line(std::string_view kind, std::size_t index, const IoDevice& d) {
  std::string line = fmt::format("{} {}: {}", kind, index, d.name);
  if (d.openfabrics) line += fmt::format(" port {}", d.port);
  if (!d.netdev.empty() && d.netdev != d.name) line += fmt::format(" ({})", d.netdev);
  if (!d.pci_busid.empty() && d.pci_busid != d.name) line += fmt::format(" pci {}", d.pci_busid);
  line += d.local_pus.empty() ? ", locality unknown" : fmt::format(", near pu {}", format_cpu_list(d.local_pus));
  return line;
}

nlohmann::json device_json(const IoDevice& d) {
  return {{"name", d.name},
          {"pci_busid", d.pci_busid},
          {"vendor_id", fmt::format("{:04x}", d.vendor_id)},
          {"device_id", fmt::format("{:04x}", d.device_id)},
          {"class_id", fmt::format("{:04x}", d.class_id)},
          {"openfabrics", d.openfabrics},
          {"port", d.port},
          {"netdev", d.netdev},
          {"local_pus", format_cpu_list(d.local_pus)}};
}

CpuList cpu_list_field(const nlohmann::json& json, const char* key) {
  return parse_cpu_list(json.at(key).get<std::string>());
}

}  // namespace

std::string topology_to_text(const TopologyInfo& t) {
  std::string out = fmt::format("{}, {}, {}, {}, {}, {}\n", plural(t.packages.size(), "package", "packages"),
                                plural(t.numa_nodes.size(), "NUMA node", "NUMA nodes"),
                                plural(t.cores.size(), "core", "cores"), plural(t.all_pus().size(), "PU", "PUs"),
                                plural(t.gpus.size(), "GPU", "GPUs"), plural(t.nics.size(), "NIC", "NICs"));
  for (const auto& p : t.packages) out += "  " + domain_line("package", p, t.cores) + "\n";
  for (const auto& n : t.numa_nodes) out += "  " + domain_line("numa", n, t.cores) + "\n";
  for (std::size_t i = 0; i < t.gpus.size(); ++i) out += "  " + device_line("gpu", i, t.gpus[i]) + "\n";
  for (std::size_t i = 0; i < t.nics.size(); ++i) out += "  " + device_line("nic", i, t.nics[i]) + "\n";
  return out;
}

nlohmann::json topology_to_json(const TopologyInfo& t) {
  auto domains = [&](const std::vector<Domain>& list) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : list) {
      out.push_back({{"os_index", d.os_index},
                     {"cores", format_cpu_list(core_indexes(t.cores, d.pus))},
                     {"pus", format_cpu_list(d.pus)}});
    }
    return out;
  };
  nlohmann::json cores = nlohmann::json::array();
  for (const auto& c : t.cores) {
    cores.push_back({{"index", c.index}, {"package", c.package}, {"numa", c.numa}, {"pus", format_cpu_list(c.pus)}});
  }
  nlohmann::json gpus = nlohmann::json::array(), nics = nlohmann::json::array();
  for (const auto& g : t.gpus) gpus.push_back(device_json(g));
  for (const auto& n : t.nics) nics.push_back(device_json(n));
  return {{"packages", domains(t.packages)},
          {"numa_nodes", domains(t.numa_nodes)},
          {"cores", cores},
          {"pus", format_cpu_list(t.all_pus())},
          {"gpus", gpus},
          {"nics", nics}};
}

std::string describe_binding(const RankBinding& b) {
  CpuList cores;
  for (const auto& core : b.cores) cores.push_back(core.index);
  std::string text =
      fmt::format("{} {} (pu {}), numa {}", cores.size() == 1 ? "core" : "cores", format_cpu_list(normalized(cores)),
                  format_cpu_list(b.pus), b.numa >= 0 ? std::to_string(b.numa) : "-");
  for (const auto& [key, value] : b.env) {
    if (key == "CUDA_VISIBLE_DEVICES" || key == "UCX_NET_DEVICES") text += fmt::format(", {}={}", key, value);
  }
  return text;
}

std::string binding_report_line(int rank, std::string_view node, const RankBinding& b) {
  return fmt::format("rank {} (local {}) on {}: {}", rank, b.local_rank, node, describe_binding(b));
}

std::string plan_to_text(const BindingPlan& plan) {
  std::string out =
      fmt::format("{}, bind={}, {} per rank, gpus={}{}\n", plural(plan.ranks.size(), "local rank", "local ranks"),
                  to_string(plan.policy), plural(static_cast<std::size_t>(plan.cpus_per_rank), "core", "cores"),
                  to_string(plan.gpus), plan.oversubscribed ? ", oversubscribed" : "");
  for (const auto& rank : plan.ranks) out += fmt::format("  local {}: {}\n", rank.local_rank, describe_binding(rank));
  for (const auto& warning : plan.warnings) out += fmt::format("warning: {}\n", warning);
  return out;
}

nlohmann::json plan_to_json(const BindingPlan& plan) {
  nlohmann::json ranks = nlohmann::json::array();
  for (const auto& rank : plan.ranks) ranks.push_back(rank_binding_to_json(rank));
  return {{"policy", to_string(plan.policy)},
          {"gpus", to_string(plan.gpus)},
          {"cpus_per_rank", plan.cpus_per_rank},
          {"oversubscribed", plan.oversubscribed},
          {"ranks", ranks},
          {"warnings", plan.warnings}};
}

nlohmann::json rank_binding_to_json(const RankBinding& b) {
  nlohmann::json cores = nlohmann::json::array();
  for (const auto& core : b.cores) cores.push_back({{"index", core.index}, {"pus", format_cpu_list(core.pus)}});
  // env as [key, value] pairs: an object would reorder them.
  return {{"local_rank", b.local_rank},
          {"pus", format_cpu_list(b.pus)},
          {"cores", cores},
          {"numa", b.numa},
          {"env", b.env}};
}

RankBinding rank_binding_from_json(const nlohmann::json& json) {
  try {
    RankBinding b;
    b.local_rank = json.at("local_rank").get<int>();
    b.pus = cpu_list_field(json, "pus");
    for (const auto& core : json.at("cores"))
      b.cores.push_back({core.at("index").get<int>(), cpu_list_field(core, "pus")});
    b.numa = json.at("numa").get<int>();
    b.env = json.at("env").get<EnvList>();
    return b;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("malformed rank binding: {}", e.what()));
  }
}

}  // namespace hl::devices
