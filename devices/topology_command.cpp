#include "devices/topology_command.hpp"

#include <cstdlib>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/cli_parse.hpp"
#include "common/error.hpp"
#include "devices/apply_binding.hpp"
#include "devices/binding_render.hpp"
#include "devices/topology.hpp"

namespace hl::devices {
namespace {

constexpr const char* kFooter = R"(
Without --synthetic or --xml: this machine, and the cpus this process may
use (run it under srun to see a Slurm allocation's cpuset). The plan is the
one hpclaunch applies to that many ranks per node.

Examples:
  hpclaunch topology --ranks 8
  hpclaunch topology --synthetic "pack:2 numa:2 core:16 pu:2" --ranks 8 --gpus per-rank
  hpclaunch topology --xml node.xml --ranks 4 --allowed 0-15 --json
)";

Topology load(const TopologyCommandOptions& o) {
  if (!o.synthetic.empty()) return Topology::load_synthetic(o.synthetic);
  if (!o.xml.empty()) return Topology::load_xml_file(o.xml);
  return Topology::load_system();
}

std::optional<std::string> env_value(const char* key) {
  const char* value = std::getenv(key);
  return value ? std::optional<std::string>(value) : std::nullopt;
}

PlanRequest request_for(const TopologyCommandOptions& o, const TopologyInfo& topology) {
  PlanRequest request;
  bool this_machine = o.synthetic.empty() && o.xml.empty();
  request.allowed = !o.allowed.empty() ? parse_cpu_list(o.allowed)
                    : this_machine     ? current_allowed_cpus()
                                       : topology.all_pus();
  int allowed_cores = 0;
  for (const auto& core : topology.cores) allowed_cores += intersect(core.pus, request.allowed).empty() ? 0 : 1;
  request.local_ranks = o.ranks > 0 ? o.ranks : std::max(1, allowed_cores);
  request.cpus_per_rank = o.cpus_per_rank;
  request.policy = parse_bind_policy(o.bind);
  request.gpus = parse_gpu_selection(o.gpus);
  request.cuda_visible_devices = env_value("CUDA_VISIBLE_DEVICES");
  request.ucx_net_devices = env_value("UCX_NET_DEVICES");
  return request;
}

}  // namespace

std::optional<TopologyCommandOptions> parse_topology_options(int argc, char** argv) {
  TopologyCommandOptions o;
  CLI::App app{"hpclaunch topology: this node's topology and the binding plan for its ranks",
               argc > 0 ? argv[0] : "hpclaunch topology"};
  app.footer(kFooter);
  app.add_option("-n,--ranks", o.ranks, "local ranks to plan for (default: one per allowed core)");
  app.add_option("-c,--cpus-per-rank", o.cpus_per_rank, "cores per rank (default: allowed cores / ranks)");
  app.add_option("--bind", o.bind, "binding policy")
      ->check(CLI::IsMember({"none", "core", "numa", "socket", "auto"}))
      ->default_val("auto");
  app.add_option("--gpus", o.gpus, "GPUs per rank")
      ->check(CLI::IsMember({"none", "all", "per-rank"}))
      ->default_val("all");
  app.add_option("--allowed", o.allowed, "cpus the ranks may use, e.g. 0-15 (default: this process's)")
      ->type_name("LIST");
  auto* synthetic =
      app.add_option("--synthetic", o.synthetic, "an hwloc synthetic topology instead of this node")->type_name("DESC");
  app.add_option("--xml", o.xml, "an hwloc XML export (lstopo --of xml) instead of this node")
      ->type_name("FILE")
      ->excludes(synthetic);
  app.add_flag("--json", o.json, "machine-readable output");
  if (!parse_command_line(app, argc, argv, "hpclaunch topology")) return std::nullopt;
  return o;
}

std::string topology_report(const TopologyCommandOptions& options) {
  Topology topology = load(options);
  TopologyInfo info = topology.describe();
  PlanRequest request = request_for(options, info);
  BindingPlan plan = plan_bindings(info, request);
  if (options.json) {
    nlohmann::json out{{"topology", topology_to_json(info)},
                       {"allowed", format_cpu_list(request.allowed)},
                       {"plan", plan_to_json(plan)}};
    return out.dump(2) + "\n";
  }
  return fmt::format("topology: {}allowed: pu {}\nplan: {}", topology_to_text(info), format_cpu_list(request.allowed),
                     plan_to_text(plan));
}

int run_topology_command(int argc, char** argv) {
  auto options = parse_topology_options(argc, argv);
  if (!options) return 0;
  fmt::print("{}", topology_report(*options));
  return 0;
}

}  // namespace hl::devices
