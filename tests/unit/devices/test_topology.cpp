// Loading topologies (synthetic, XML with GPUs and NICs, this machine) and
// the GPU/NIC choice per rank on a two-package node.
#include "devices/topology.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "common/error.hpp"
#include "devices/binding_plan.hpp"
#include "devices/device_env.hpp"
#include "tests/unit/devices/two_package_xml.hpp"

using namespace hl::devices;

namespace {

std::string env_of(const RankBinding& rank, std::string_view key) {
  for (const auto& [k, v] : rank.env) {
    if (k == key) return v;
  }
  return "<unset>";
}

}  // namespace

TEST(TopologySynthetic, DescribesPackagesNumaCoresAndPus) {
  TopologyInfo t = Topology::load_synthetic("pack:2 numa:2 core:16 pu:2").describe();
  EXPECT_EQ(t.packages.size(), 2u);
  EXPECT_EQ(t.numa_nodes.size(), 4u);
  ASSERT_EQ(t.cores.size(), 64u);
  EXPECT_EQ(t.all_pus().size(), 128u);
  EXPECT_EQ(t.cores[17].pus, (CpuList{34, 35}));
  EXPECT_EQ(t.cores[17].package, 0);
  EXPECT_EQ(t.cores[17].numa, 1);
  EXPECT_EQ(t.cores[40].package, 1);
  EXPECT_EQ(format_cpu_list(t.numa_nodes[3].pus), "96-127");
  EXPECT_TRUE(t.gpus.empty());
  EXPECT_TRUE(t.nics.empty());
}

TEST(TopologySynthetic, WithoutNumaLevel) {
  TopologyInfo t = Topology::load_synthetic("pack:1 core:4 pu:1").describe();
  EXPECT_EQ(t.cores.size(), 4u);
  ASSERT_EQ(t.numa_nodes.size(), 1u);  // hwloc always has one
  EXPECT_EQ(t.cores[3].numa, 0);
}

TEST(TopologySynthetic, BadDescriptionHasAHint) {
  try {
    Topology::load_synthetic("pack:2 core:banana");
    FAIL() << "no error";
  } catch (const hl::Error& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with("load hwloc topology from synthetic `pack:2 core:banana`: "))
        << e.what();
    EXPECT_EQ(e.hint(), "describe levels down to PUs, e.g. \"pack:2 numa:2 core:16 pu:2\"");
  }
}

TEST(TopologyXml, KeepsGpusAndNicsWithTheirLocality) {
  TopologyInfo t = Topology::load_xml_string(two_package_xml()).describe();
  ASSERT_EQ(t.cores.size(), 8u);
  ASSERT_EQ(t.gpus.size(), 2u);
  ASSERT_EQ(t.nics.size(), 2u);
  // PCI bus order (CUDA's PCI_BUS_ID order): the second package's GPU first.
  EXPECT_EQ(t.gpus[0].name, "cuda1");
  EXPECT_EQ(t.gpus[0].pci_busid, "0000:17:00.0");
  EXPECT_EQ(format_cpu_list(t.gpus[0].local_pus), "8-15");
  EXPECT_EQ(t.gpus[1].name, "cuda0");
  EXPECT_EQ(format_cpu_list(t.gpus[1].local_pus), "0-7");
  EXPECT_EQ(t.gpus[1].vendor_id, 0x10deu);
  EXPECT_EQ(t.gpus[1].class_id, 0x0302u);
  EXPECT_EQ(t.nics[0].name, "mlx5_1");
  EXPECT_TRUE(t.nics[0].openfabrics);
  EXPECT_EQ(t.nics[0].port, 2);  // port 1 is down in the XML
  EXPECT_EQ(t.nics[0].netdev, "ib1");
  EXPECT_EQ(format_cpu_list(t.nics[1].local_pus), "0-7");
}

TEST(TopologyXml, FileAndExportRoundTrip) {
  Topology original = Topology::load_xml_string(two_package_xml());
  std::string path = ::testing::TempDir() + "hl_topology_test.xml";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::string xml = original.export_xml();
    std::fwrite(xml.data(), 1, xml.size(), f);
    std::fclose(f);
  }
  TopologyInfo again = Topology::load_xml_file(path).describe();
  EXPECT_EQ(again.gpus.size(), 2u);
  EXPECT_EQ(again.nics.size(), 2u);
  EXPECT_THROW(Topology::load_xml_file(path + ".missing"), hl::Error);
}

TEST(GpuPlan, NearestGpuAndNicPerRank) {
  TopologyInfo t = Topology::load_xml_string(two_package_xml()).describe();
  PlanRequest r;
  r.local_ranks = 4;
  r.gpus = GpuSelection::per_rank;
  BindingPlan plan = plan_bindings(t, r);
  EXPECT_TRUE(plan.warnings.empty());
  // Ranks 0,1 sit on package 0, whose GPU is CUDA index 1 in PCI order.
  std::vector<std::string> gpus, nics;
  for (const auto& rank : plan.ranks) {
    gpus.push_back(env_of(rank, "CUDA_VISIBLE_DEVICES"));
    nics.push_back(env_of(rank, "UCX_NET_DEVICES"));
    EXPECT_EQ(env_of(rank, "CUDA_DEVICE_ORDER"), "PCI_BUS_ID");
  }
  EXPECT_EQ(gpus, (std::vector<std::string>{"1", "1", "0", "0"}));
  EXPECT_EQ(nics, (std::vector<std::string>{"mlx5_0:1", "mlx5_0:1", "mlx5_1:2", "mlx5_1:2"}));
  EXPECT_EQ(env_of(plan.ranks[3], "OMPI_MCA_btl_openib_if_include"), "mlx5_1");
}

TEST(GpuPlan, ExistingRestrictionIsNarrowedNeverWidened) {
  TopologyInfo t = Topology::load_xml_string(two_package_xml()).describe();
  PlanRequest r;
  r.local_ranks = 2;
  r.gpus = GpuSelection::per_rank;
  r.cuda_visible_devices = "0";  // Slurm gave this job the second package's GPU only
  BindingPlan plan = plan_bindings(t, r);
  EXPECT_EQ(env_of(plan.ranks[0], "CUDA_VISIBLE_DEVICES"), "0");
  EXPECT_EQ(env_of(plan.ranks[1], "CUDA_VISIBLE_DEVICES"), "0");

  r.cuda_visible_devices = "GPU-8f3c0a1e-1111-2222-3333-444455556666";
  plan = plan_bindings(t, r);
  EXPECT_EQ(env_of(plan.ranks[0], "CUDA_VISIBLE_DEVICES"), "<unset>");
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_EQ(plan.warnings[0],
            "CUDA_VISIBLE_DEVICES=GPU-8f3c0a1e-1111-2222-3333-444455556666 is not a list of GPU indexes below 2: "
            "--gpus=per-rank left it as it is");
}

TEST(GpuPlan, OneRankTakesAllGpusAndAllMeansNoVariable) {
  TopologyInfo t = Topology::load_xml_string(two_package_xml()).describe();
  PlanRequest r;
  r.local_ranks = 1;
  r.gpus = GpuSelection::per_rank;
  EXPECT_EQ(env_of(plan_bindings(t, r).ranks[0], "CUDA_VISIBLE_DEVICES"), "0,1");
  r.gpus = GpuSelection::all;
  EXPECT_EQ(env_of(plan_bindings(t, r).ranks[0], "CUDA_VISIBLE_DEVICES"), "<unset>");
  r.ucx_net_devices = "mlx5_0:1";  // the user's choice stays
  EXPECT_EQ(env_of(plan_bindings(t, r).ranks[0], "UCX_NET_DEVICES"), "<unset>");
}

TEST(GpuPlan, NearestDevicesBalancesEquallyNearOnes) {
  // Two devices both local to everything: ranks alternate between them.
  std::vector<CpuList> ranks{{0}, {1}, {2}, {3}};
  std::vector<CpuList> devices{{0, 1, 2, 3}, {0, 1, 2, 3}};
  auto picks = nearest_devices(ranks, devices, {1, 1, 1, 1}, 2);
  EXPECT_EQ(picks, (std::vector<std::vector<int>>{{0}, {1}, {0}, {1}}));
  // Capacity: both GPUs near rank 0-3's package 0 only, yet all four ranks
  // are there: each GPU still gets two.
  devices = {{0, 1, 2, 3}, {4, 5, 6, 7}};
  picks = nearest_devices(ranks, devices, {1, 1, 1, 1}, 2);
  EXPECT_EQ(picks, (std::vector<std::vector<int>>{{0}, {0}, {1}, {1}}));
}

TEST(GpuPlan, PerRankWithoutGpusWarns) {
  TopologyInfo t = Topology::load_synthetic("pack:1 core:4 pu:1").describe();
  PlanRequest r;
  r.gpus = GpuSelection::per_rank;
  BindingPlan plan = plan_bindings(t, r);
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_EQ(plan.warnings[0], "--gpus=per-rank: this node has no NVIDIA GPU");
}

TEST(TopologySystem, ThisMachineLoads) {
  TopologyInfo t = Topology::load_system().describe();
  EXPECT_FALSE(t.cores.empty());
  EXPECT_FALSE(t.packages.empty());
  for (const auto& core : t.cores) EXPECT_FALSE(core.pus.empty());
}
