// Properties of the binding plan on synthetic topologies, for 1..256 ranks
// and restricted cpusets, plus exact plans for the cases users will read.
#include "devices/binding_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "common/error.hpp"
#include "devices/topology.hpp"

using namespace hl::devices;

namespace {

TopologyInfo synthetic(const char* description) { return Topology::load_synthetic(description).describe(); }

const Core& core_by_index(const TopologyInfo& t, int index) {
  for (const auto& core : t.cores) {
    if (core.index == index) return core;
  }
  throw std::runtime_error("no such core");
}

int allowed_core_count(const TopologyInfo& t, const CpuList& allowed) {
  int n = 0;
  for (const auto& core : t.cores) n += intersect(core.pus, allowed).empty() ? 0 : 1;
  return n;
}

template <typename Map>
int spread(const Map& counts) {
  int lo = 1 << 30, hi = 0;
  for (const auto& [key, n] : counts) lo = std::min(lo, n), hi = std::max(hi, n);
  return hi - lo;
}

// What must hold for every plan: inside the allowed set, whole cores,
// no core twice unless oversubscribed, and then every core used evenly.
void expect_sound(const TopologyInfo& t, const PlanRequest& request, const BindingPlan& plan) {
  SCOPED_TRACE(::testing::Message() << request.local_ranks << " ranks, -c " << request.cpus_per_rank << ", allowed "
                                    << format_cpu_list(request.allowed) << ", bind " << to_string(request.policy));
  CpuList allowed = request.allowed.empty() ? t.all_pus() : request.allowed;
  ASSERT_EQ(plan.ranks.size(), static_cast<std::size_t>(request.local_ranks));
  std::map<int, int> use;
  for (const auto& rank : plan.ranks) {
    ASSERT_FALSE(rank.pus.empty());
    EXPECT_TRUE(contains_all(allowed, rank.pus)) << format_cpu_list(rank.pus);
    CpuList from_cores;
    for (const auto& core : rank.cores) {
      // Hyperthreads stay with their core: a core comes with all its allowed PUs.
      EXPECT_EQ(core.pus, intersect(core_by_index(t, core.index).pus, allowed));
      from_cores = unite(from_cores, core.pus);
      ++use[core.index];
    }
    EXPECT_EQ(from_cores, rank.pus);
    // auto leaves oversubscribed ranks unbound, as mpirun does
    bool unbound = request.policy == BindPolicy::automatic && plan.oversubscribed;
    if (unbound) {
      EXPECT_EQ(rank.pus, allowed);
    }
    if (!unbound && (request.policy == BindPolicy::core || request.policy == BindPolicy::automatic)) {
      EXPECT_EQ(rank.cores.size(), static_cast<std::size_t>(plan.cpus_per_rank));
    }
  }
  int cores = allowed_core_count(t, allowed);
  bool private_cores =
      request.policy == BindPolicy::core || (request.policy == BindPolicy::automatic && !plan.oversubscribed);
  if (private_cores && !plan.oversubscribed) {
    for (const auto& [core, n] : use) EXPECT_EQ(n, 1) << "core " << core << " used twice";
  }
  if (private_cores && plan.oversubscribed) {
    EXPECT_EQ(use.size(), static_cast<std::size_t>(cores)) << "an allowed core is idle";
    EXPECT_LE(spread(use), 1) << "cores unevenly shared";
  }
  if (plan.oversubscribed) {
    EXPECT_EQ(plan.warnings.size(), 1u);
  }
  if (!plan.oversubscribed && request.cpus_per_rank == 0) {
    EXPECT_TRUE(plan.warnings.empty());
  }
}

// Ranks per package and per NUMA node (by each rank's first core).
void expect_even_spread(const TopologyInfo& t, const BindingPlan& plan) {
  std::map<int, int> packages, numas;
  for (const auto& p : t.packages) packages[p.os_index] = 0;
  for (const auto& n : t.numa_nodes) numas[n.os_index] = 0;
  for (const auto& rank : plan.ranks) {
    const Core& first = core_by_index(t, rank.cores.front().index);
    if (first.package >= 0) ++packages[t.packages[first.package].os_index];
    if (first.numa >= 0) ++numas[t.numa_nodes[first.numa].os_index];
  }
  EXPECT_LE(spread(packages), 1) << plan.ranks.size() << " ranks";
  EXPECT_LE(spread(numas), 1) << plan.ranks.size() << " ranks";
}

PlanRequest request(int ranks, BindPolicy policy = BindPolicy::automatic, CpuList allowed = {}, int c = 0) {
  PlanRequest r;
  r.local_ranks = ranks;
  r.policy = policy;
  r.allowed = std::move(allowed);
  r.cpus_per_rank = c;
  return r;
}

CpuList range(int first, int last) {
  CpuList out;
  for (int i = first; i <= last; ++i) out.push_back(i);
  return out;
}

}  // namespace

TEST(BindingPlan, EveryRankCountOnEveryTopology) {
  for (const char* description : {"pack:2 numa:2 core:16 pu:2", "pack:1 core:4 pu:1", "pack:2 core:8 pu:2",
                                  "pack:2 core:8 pu:2(indexes=2*16:1*2)"}) {
    SCOPED_TRACE(description);
    TopologyInfo t = synthetic(description);
    for (int ranks = 1; ranks <= 256; ++ranks) {
      for (auto policy : {BindPolicy::automatic, BindPolicy::core}) {
        PlanRequest r = request(ranks, policy);
        BindingPlan plan = plan_bindings(t, r);
        expect_sound(t, r, plan);
        EXPECT_EQ(plan.oversubscribed, ranks > static_cast<int>(t.cores.size()));
        if (policy == BindPolicy::automatic && !plan.oversubscribed) expect_even_spread(t, plan);
      }
    }
  }
}

TEST(BindingPlan, RestrictedCpusetsAreNeverLeft) {
  TopologyInfo t = synthetic("pack:2 numa:2 core:16 pu:2");
  CpuList evens;
  for (int pu = 0; pu < 128; pu += 2) evens.push_back(pu);
  CpuList two_ranges = unite(range(0, 19), range(64, 71));  // 10 + 4 cores
  for (const CpuList& allowed : {range(0, 7), evens, two_ranges, range(33, 70), CpuList{5}}) {
    for (int ranks = 1; ranks <= 80; ++ranks) {
      for (auto policy :
           {BindPolicy::automatic, BindPolicy::core, BindPolicy::numa, BindPolicy::socket, BindPolicy::none}) {
        PlanRequest r = request(ranks, policy, allowed);
        expect_sound(t, r, plan_bindings(t, r));
      }
    }
  }
}

TEST(BindingPlan, SpreadsOverPackagesAndNumaNodes) {
  TopologyInfo t = synthetic("pack:2 numa:2 core:16 pu:2");
  BindingPlan plan = plan_bindings(t, request(8));
  ASSERT_EQ(plan.cpus_per_rank, 8);
  std::vector<int> numa;
  for (const auto& rank : plan.ranks) numa.push_back(rank.numa);
  EXPECT_EQ(numa, (std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(format_cpu_list(plan.ranks[0].pus), "0-15");
  EXPECT_EQ(format_cpu_list(plan.ranks[7].pus), "112-127");

  // Four ranks with one core each: one per NUMA node, not four on the first.
  plan = plan_bindings(t, request(4, BindPolicy::automatic, {}, 1));
  numa.clear();
  for (const auto& rank : plan.ranks) numa.push_back(rank.numa);
  EXPECT_EQ(numa, (std::vector<int>{0, 1, 2, 3}));

  // Two ranks: one per package.
  plan = plan_bindings(t, request(2, BindPolicy::automatic, {}, 1));
  EXPECT_EQ(format_cpu_list(plan.ranks[0].pus), "0-1");
  EXPECT_EQ(format_cpu_list(plan.ranks[1].pus), "64-65");
}

TEST(BindingPlan, CorePolicyPacksInOrder) {
  TopologyInfo t = synthetic("pack:2 numa:2 core:16 pu:2");
  BindingPlan plan = plan_bindings(t, request(4, BindPolicy::core, {}, 2));
  EXPECT_EQ(format_cpu_list(plan.ranks[0].pus), "0-3");
  EXPECT_EQ(format_cpu_list(plan.ranks[3].pus), "12-15");
}

TEST(BindingPlan, HonoursCpusPerRank) {
  TopologyInfo t = synthetic("pack:2 core:8 pu:2");
  for (int c = 1; c <= 8; ++c) {
    PlanRequest r = request(16 / c, BindPolicy::automatic, {}, c);
    BindingPlan plan = plan_bindings(t, r);
    expect_sound(t, r, plan);
    EXPECT_EQ(plan.cpus_per_rank, c);
    EXPECT_FALSE(plan.oversubscribed);
  }
  // Blocks stay inside a package when they fit: 3 ranks x 4 cores on 2 x 8.
  BindingPlan plan = plan_bindings(t, request(3, BindPolicy::automatic, {}, 4));
  for (const auto& rank : plan.ranks) EXPECT_TRUE(rank.pus.back() < 16 || rank.pus.front() >= 16);
}

TEST(BindingPlan, HyperthreadNumberingOfRealMachines) {
  // Intel numbering: core i has PUs i and i+16.
  TopologyInfo t = synthetic("pack:2 core:8 pu:2(indexes=2*16:1*2)");
  BindingPlan plan = plan_bindings(t, request(4));
  EXPECT_EQ(format_cpu_list(plan.ranks[1].pus), "4-7,20-23");
  // Only the first hyperthread allowed: ranks get it, never the sibling.
  plan = plan_bindings(t, request(4, BindPolicy::automatic, range(0, 15)));
  EXPECT_EQ(format_cpu_list(plan.ranks[1].pus), "4-7");
}

TEST(BindingPlan, OversubscribedAutoLeavesRanksUnbound) {
  TopologyInfo t = synthetic("pack:1 core:4 pu:1");
  BindingPlan plan = plan_bindings(t, request(6));
  EXPECT_TRUE(plan.oversubscribed);
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_EQ(plan.warnings[0],
            "6 ranks x 1 core need 6 cores but only 4 are allowed (pu 0-3): ranks share cores (oversubscribed); "
            "not binding them (--bind core pins them anyway)");
  for (const auto& rank : plan.ranks) EXPECT_EQ(format_cpu_list(rank.pus), "0-3");
}

TEST(BindingPlan, OversubscribedCoreWarnsOnceAndSharesEvenly) {
  TopologyInfo t = synthetic("pack:1 core:4 pu:1");
  BindingPlan plan = plan_bindings(t, request(6, BindPolicy::core));
  EXPECT_TRUE(plan.oversubscribed);
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_EQ(plan.warnings[0],
            "6 ranks x 1 core need 6 cores but only 4 are allowed (pu 0-3): ranks share cores (oversubscribed)");
  std::vector<std::string> cpus;
  for (const auto& rank : plan.ranks) cpus.push_back(format_cpu_list(rank.pus));
  EXPECT_EQ(cpus, (std::vector<std::string>{"0", "0", "1", "2", "2", "3"}));

  plan = plan_bindings(t, request(6, BindPolicy::core, {}, 2));
  std::map<int, int> use;
  for (const auto& rank : plan.ranks) {
    for (int pu : rank.pus) ++use[pu];
  }
  EXPECT_EQ(use, (std::map<int, int>{{0, 3}, {1, 3}, {2, 3}, {3, 3}}));
}

TEST(BindingPlan, TooManyCpusPerRankIsClamped) {
  TopologyInfo t = synthetic("pack:1 core:4 pu:1");
  BindingPlan plan = plan_bindings(t, request(1, BindPolicy::automatic, {}, 9));
  EXPECT_EQ(plan.cpus_per_rank, 4);
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_EQ(plan.warnings[0], "-c 9 is more than the 4 allowed cores; each rank gets 4");
}

TEST(BindingPlan, NoneGivesEveryRankTheAllowedSet) {
  TopologyInfo t = synthetic("pack:2 numa:2 core:16 pu:2");
  BindingPlan plan = plan_bindings(t, request(5, BindPolicy::none, range(8, 23)));
  for (const auto& rank : plan.ranks) {
    EXPECT_EQ(format_cpu_list(rank.pus), "8-23");
    EXPECT_EQ(rank.numa, 0);
  }
  plan = plan_bindings(t, request(2, BindPolicy::none));
  EXPECT_EQ(plan.ranks[1].pus.size(), 128u);
  EXPECT_EQ(plan.ranks[1].numa, -1);
}

TEST(BindingPlan, NumaAndSocketPolicies) {
  TopologyInfo t = synthetic("pack:2 numa:2 core:16 pu:2");
  BindingPlan plan = plan_bindings(t, request(2, BindPolicy::numa));
  EXPECT_EQ(format_cpu_list(plan.ranks[0].pus), "0-31");
  EXPECT_EQ(format_cpu_list(plan.ranks[1].pus), "64-95");  // the other package
  plan = plan_bindings(t, request(4, BindPolicy::socket));
  std::vector<std::string> cpus;
  for (const auto& rank : plan.ranks) cpus.push_back(format_cpu_list(rank.pus));
  EXPECT_EQ(cpus, (std::vector<std::string>{"0-63", "0-63", "64-127", "64-127"}));
  EXPECT_EQ(plan.ranks[0].numa, -1);
}

TEST(BindingPlan, Errors) {
  TopologyInfo t = synthetic("pack:1 core:4 pu:1");
  EXPECT_THROW(plan_bindings(t, request(0)), hl::Error);
  try {
    plan_bindings(t, request(1, BindPolicy::automatic, {100, 101}));
    FAIL() << "no error";
  } catch (const hl::Error& e) {
    EXPECT_STREQ(e.what(), "no allowed cpu (100-101) exists in this node's topology");
  }
  EXPECT_EQ(parse_bind_policy("auto"), BindPolicy::automatic);
  EXPECT_EQ(parse_gpu_selection("per-rank"), GpuSelection::per_rank);
  try {
    parse_bind_policy("cores");
    FAIL() << "no error";
  } catch (const hl::Error& e) {
    EXPECT_STREQ(e.what(), "unknown binding policy `cores`");
    EXPECT_EQ(e.hint(), "use --bind=none|core|numa|socket|auto");
  }
}

TEST(BindingPlan, RestrictedToDropsCoresOutsideTheSet) {
  TopologyInfo t = synthetic("pack:2 core:8 pu:2");
  BindingPlan plan = plan_bindings(t, request(2));
  RankBinding limited = restricted_to(plan.ranks[0], {0, 1, 3});
  EXPECT_EQ(format_cpu_list(limited.pus), "0-1,3");
  ASSERT_EQ(limited.cores.size(), 2u);
  EXPECT_EQ(limited.cores[1].pus, CpuList{3});
}
