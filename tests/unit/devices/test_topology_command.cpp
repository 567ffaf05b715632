// `hpclaunch topology` output and the plan renderings.
#include "devices/topology_command.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "devices/binding_render.hpp"
#include "devices/topology.hpp"

using namespace hl::devices;

namespace {

TopologyCommandOptions synthetic(const char* description, int ranks) {
  TopologyCommandOptions o;
  o.synthetic = description;
  o.ranks = ranks;
  return o;
}

std::optional<TopologyCommandOptions> parse(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_topology_options(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST(TopologyCommand, TextReport) {
  ::unsetenv("CUDA_VISIBLE_DEVICES");
  EXPECT_EQ(topology_report(synthetic("pack:1 core:4 pu:1", 6)),
            "topology: 1 package, 1 NUMA node, 4 cores, 4 PUs, 0 GPUs, 0 NICs\n"
            "  package 0: cores 0-3 (pu 0-3)\n"
            "  numa 0: cores 0-3 (pu 0-3)\n"
            "allowed: pu 0-3\n"
            "plan: 6 local ranks, bind=auto, 1 core per rank, gpus=all, oversubscribed\n"
            "  local 0: cores 0-3 (pu 0-3), numa 0\n"
            "  local 1: cores 0-3 (pu 0-3), numa 0\n"
            "  local 2: cores 0-3 (pu 0-3), numa 0\n"
            "  local 3: cores 0-3 (pu 0-3), numa 0\n"
            "  local 4: cores 0-3 (pu 0-3), numa 0\n"
            "  local 5: cores 0-3 (pu 0-3), numa 0\n"
            "warning: 6 ranks x 1 core need 6 cores but only 4 are allowed (pu 0-3): ranks share cores "
            "(oversubscribed); not binding them (--bind core pins them anyway)\n");
}

TEST(TopologyCommand, JsonReport) {
  TopologyCommandOptions o = synthetic("pack:2 numa:2 core:16 pu:2", 8);
  o.json = true;
  o.allowed = "0-63";
  auto json = nlohmann::json::parse(topology_report(o));
  EXPECT_EQ(json["allowed"], "0-63");
  EXPECT_EQ(json["topology"]["numa_nodes"].size(), 4u);
  EXPECT_EQ(json["plan"]["cpus_per_rank"], 4);
  EXPECT_EQ(json["plan"]["ranks"][7]["pus"], "56-63");
  EXPECT_EQ(json["plan"]["ranks"][7]["numa"], 1);
}

TEST(TopologyCommand, ParsesOptions) {
  auto o = parse({"hpclaunch topology", "--ranks", "8", "-c", "2", "--bind", "numa", "--gpus", "per-rank",
                  "--synthetic", "pack:1 core:4 pu:1", "--json"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->ranks, 8);
  EXPECT_EQ(o->cpus_per_rank, 2);
  EXPECT_EQ(o->bind, "numa");
  EXPECT_EQ(o->gpus, "per-rank");
  EXPECT_TRUE(o->json);
  try {
    parse({"hpclaunch topology", "--bind", "cores"});
    FAIL() << "no error";
  } catch (const hl::Error& e) {
    EXPECT_EQ(e.hint(), "see hpclaunch topology --help");
  }
  EXPECT_THROW(parse({"hpclaunch topology", "--xml", "a.xml", "--synthetic", "pu:2"}), hl::Error);
}

TEST(TopologyCommand, ThisMachine) {
  TopologyCommandOptions o;
  o.ranks = 2;
  std::string report = topology_report(o);
  EXPECT_NE(report.find("plan: 2 local ranks, bind=auto"), std::string::npos) << report;
}

TEST(TopologyRender, ReportLineAndJsonRoundTrip) {
  RankBinding b;
  b.local_rank = 1;
  b.pus = {4, 5, 6, 7, 36, 37, 38, 39};
  for (int c = 4; c < 8; ++c) b.cores.push_back({c, {c, c + 32}});
  b.numa = 0;
  b.env = {{"CUDA_DEVICE_ORDER", "PCI_BUS_ID"}, {"CUDA_VISIBLE_DEVICES", "1"}};
  EXPECT_EQ(binding_report_line(3, "node2", b),
            "rank 3 (local 1) on node2: cores 4-7 (pu 4-7,36-39), numa 0, CUDA_VISIBLE_DEVICES=1");
  RankBinding back = rank_binding_from_json(nlohmann::json::parse(rank_binding_to_json(b).dump()));
  EXPECT_EQ(back.pus, b.pus);
  EXPECT_EQ(back.cores.size(), 4u);
  EXPECT_EQ(back.cores[2].pus, (CpuList{6, 38}));
  EXPECT_EQ(back.numa, 0);
  EXPECT_EQ(back.env, b.env);
  EXPECT_THROW(rank_binding_from_json(nlohmann::json{{"pus", "0"}}), hl::Error);
}

TEST(TopologyRender, TopologyWithDevices) {
  TopologyInfo t = Topology::load_synthetic("pack:2 core:2 pu:1").describe();
  IoDevice gpu;
  gpu.name = "cuda0";
  gpu.pci_busid = "0000:17:00.0";
  gpu.local_pus = {0, 1};
  t.gpus.push_back(gpu);
  IoDevice nic;
  nic.name = "mlx5_0";
  nic.openfabrics = true;
  nic.netdev = "ib0";
  nic.pci_busid = "0000:18:00.0";
  t.nics.push_back(nic);
  std::string text = topology_to_text(t);
  EXPECT_NE(text.find("  gpu 0: cuda0 pci 0000:17:00.0, near pu 0-1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  nic 0: mlx5_0 port 1 (ib0) pci 0000:18:00.0, locality unknown\n"), std::string::npos) << text;
  EXPECT_EQ(topology_to_json(t)["gpus"][0]["pci_busid"], "0000:17:00.0");
}
