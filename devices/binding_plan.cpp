#include "devices/binding_plan.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "common/error.hpp"
#include "devices/device_env.hpp"

namespace hl::devices {
namespace {

// Positions in the usable-core list, per rank.
using Layout = std::vector<std::vector<int>>;

// A run of usable cores sharing a package (and NUMA node, at the finer level).
struct Group {
  int package = -1;
  int first = 0;
  int size = 0;
};

// The allowed part of each core, ordered by package then NUMA node so that
// every domain is one contiguous run (hwloc's order is kept inside it).
std::vector<Core> usable_cores(const TopologyInfo& topology, const CpuList& allowed) {
  std::vector<Core> out;
  for (const auto& core : topology.cores) {
    CpuList pus = allowed.empty() ? core.pus : intersect(core.pus, allowed);
    if (pus.empty()) continue;
    Core usable = core;
    usable.pus = std::move(pus);
    out.push_back(std::move(usable));
  }
  std::stable_sort(out.begin(), out.end(), [](const Core& a, const Core& b) {
    return std::pair(a.package, a.numa) < std::pair(b.package, b.numa);
  });
  return out;
}

std::vector<Group> groups_of(const std::vector<Core>& cores, int (*key)(const Core&)) {
  std::vector<Group> groups;
  for (int i = 0; i < static_cast<int>(cores.size()); ++i) {
    bool same = !groups.empty() && key(cores[i]) == key(cores[i - 1]);
    if (same) {
      ++groups.back().size;
    } else {
      groups.push_back({cores[i].package, i, 1});
    }
  }
  return groups;
}

// Splits `count` over buckets in proportion to `weights` by largest
// remainder (ties to the earlier bucket); a bucket of weight 0 gets nothing.
std::vector<int> apportion(int count, const std::vector<long>& weights) {
  long total = 0;
  for (long w : weights) total += w;
  std::vector<int> out(weights.size(), 0);
  if (total == 0) return out;
  std::vector<std::pair<long, std::size_t>> remainders;
  int given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    long share = static_cast<long>(count) * weights[i];
    out[i] = static_cast<int>(share / total);
    given += out[i];
    remainders.emplace_back(share % total, i);
  }
  std::stable_sort(remainders.begin(), remainders.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (std::size_t k = 0; given < count && k < remainders.size(); ++k, ++given) ++out[remainders[k].second];
  return out;
}

// Ranks per group: first over packages, then over each package's groups, so
// a two-socket node gets half the ranks per socket whatever its NUMA layout.
std::vector<int> ranks_per_group(const std::vector<Group>& groups, const std::vector<long>& weights, int ranks) {
  std::vector<int> packages;
  for (const auto& g : groups) {
    if (std::find(packages.begin(), packages.end(), g.package) == packages.end()) packages.push_back(g.package);
  }
  std::vector<long> package_weights(packages.size(), 0);
  for (std::size_t i = 0; i < groups.size(); ++i) {
    auto p = std::find(packages.begin(), packages.end(), groups[i].package) - packages.begin();
    package_weights[p] += weights[i];
  }
  std::vector<int> per_package = apportion(ranks, package_weights);
  std::vector<int> out(groups.size(), 0);
  for (std::size_t p = 0; p < packages.size(); ++p) {
    std::vector<std::size_t> members;
    std::vector<long> member_weights;
    for (std::size_t i = 0; i < groups.size(); ++i) {
      if (groups[i].package == packages[p]) members.push_back(i), member_weights.push_back(weights[i]);
    }
    std::vector<int> shares = apportion(per_package[p], member_weights);
    for (std::size_t m = 0; m < members.size(); ++m) out[members[m]] = shares[m];
  }
  return out;
}

// Blocks of `width` cores, each inside one group, spread evenly over the
// groups and evenly inside each; nullopt when the groups are too small.
std::optional<Layout> spread_in_groups(const std::vector<Group>& groups, int ranks, int width) {
  std::vector<long> slots;
  long total = 0;
  for (const auto& g : groups) total += slots.emplace_back(g.size / width);
  if (total < ranks) return std::nullopt;
  std::vector<int> counts = ranks_per_group(groups, slots, ranks);
  Layout layout;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    for (int j = 0; j < counts[i]; ++j) {
      // counts[i] * width <= size, so evenly spaced starts never overlap.
      int start = groups[i].first + static_cast<int>(static_cast<long>(j) * groups[i].size / counts[i]);
      auto& block = layout.emplace_back();
      for (int t = 0; t < width; ++t) block.push_back(start + t);
    }
  }
  return layout;
}

// Block j starts at j*K/N. Blocks overlap (wrapping around) only when
// ranks * width > K, and then every core serves as many ranks as any other, ±1.
Layout spread_linear(int cores, int ranks, int width) {
  Layout layout(ranks);
  for (int j = 0; j < ranks; ++j) {
    int start = static_cast<int>(static_cast<long>(j) * cores / ranks);
    for (int t = 0; t < width; ++t) layout[j].push_back((start + t) % cores);
  }
  return layout;
}

Layout packed(int ranks, int width) {
  Layout layout(ranks);
  for (int j = 0; j < ranks; ++j) {
    for (int t = 0; t < width; ++t) layout[j].push_back(j * width + t);
  }
  return layout;
}

int numa_key(const Core& c) { return c.package * 65536 + c.numa; }
int package_key(const Core& c) { return c.package; }

Layout automatic_layout(const std::vector<Core>& cores, int ranks, int width) {
  // Finest domain that fits whole blocks: NUMA node, else package, else none.
  for (auto key : {numa_key, package_key}) {
    if (auto layout = spread_in_groups(groups_of(cores, key), ranks, width)) return *layout;
  }
  return spread_linear(static_cast<int>(cores.size()), ranks, width);
}

// numa/socket: rank r gets every core of its domain; ranks are given to
// domains in proportion to their cores, in rank order.
Layout domain_layout(const std::vector<Core>& cores, int ranks, int (*key)(const Core&)) {
  std::vector<Group> groups = groups_of(cores, key);
  std::vector<long> sizes;
  for (const auto& g : groups) sizes.push_back(g.size);
  std::vector<int> counts = ranks_per_group(groups, sizes, ranks);
  Layout layout;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    for (int j = 0; j < counts[i]; ++j) {
      auto& block = layout.emplace_back();
      for (int t = 0; t < groups[i].size; ++t) block.push_back(groups[i].first + t);
    }
  }
  return layout;
}

Layout layout_for(BindPolicy policy, const std::vector<Core>& cores, int ranks, int width, bool oversubscribed) {
  int count = static_cast<int>(cores.size());
  switch (policy) {
    case BindPolicy::none:
      return Layout(ranks, packed(1, count).front());
    case BindPolicy::numa:
      return domain_layout(cores, ranks, numa_key);
    case BindPolicy::socket:
      return domain_layout(cores, ranks, package_key);
    case BindPolicy::core:
      return oversubscribed ? spread_linear(count, ranks, width) : packed(ranks, width);
    case BindPolicy::automatic:
      break;
  }
  // Oversubscribed, auto leaves ranks unbound, as mpirun does: MPI ranks
  // busy-poll, and pinned ones cannot move off a core whose other ranks
  // spin (64 ranks on 2 cores here: MPI_Init 6-270 s pinned, 3.5 s unbound).
  return oversubscribed ? Layout(ranks, packed(1, count).front()) : automatic_layout(cores, ranks, width);
}

int numa_holding(const TopologyInfo& topology, const CpuList& pus) {
  for (const auto& node : topology.numa_nodes) {
    if (!pus.empty() && contains_all(node.pus, pus)) return node.os_index;
  }
  return -1;
}

RankBinding binding_of(const TopologyInfo& topology, const std::vector<Core>& cores, const std::vector<int>& block,
                       int local_rank) {
  RankBinding binding;
  binding.local_rank = local_rank;
  for (int position : block) {
    const Core& core = cores[position];
    binding.cores.push_back({core.index, core.pus});
    binding.pus.insert(binding.pus.end(), core.pus.begin(), core.pus.end());
  }
  std::sort(binding.cores.begin(), binding.cores.end(), [](auto& a, auto& b) { return a.index < b.index; });
  binding.pus = normalized(std::move(binding.pus));
  binding.numa = numa_holding(topology, binding.pus);
  return binding;
}

CpuList pus_of(const std::vector<Core>& cores) {
  CpuList pus;
  for (const auto& core : cores) pus.insert(pus.end(), core.pus.begin(), core.pus.end());
  return normalized(std::move(pus));
}

int cores_per_rank(const PlanRequest& request, int available, std::vector<std::string>& warnings) {
  if (request.cpus_per_rank <= 0) return std::max(1, available / request.local_ranks);
  if (request.cpus_per_rank > available) {
    warnings.push_back(fmt::format("-c {} is more than the {} allowed cores; each rank gets {}", request.cpus_per_rank,
                                   available, available));
    return available;
  }
  return request.cpus_per_rank;
}

}  // namespace

BindingPlan plan_bindings(const TopologyInfo& topology, const PlanRequest& request) {
  if (request.local_ranks < 1) throw Error(fmt::format("cannot plan {} local ranks", request.local_ranks));
  std::vector<Core> cores = usable_cores(topology, request.allowed);
  if (cores.empty()) {
    throw Error(fmt::format("no allowed cpu ({}) exists in this node's topology", format_cpu_list(request.allowed)),
                "the allowed cpuset comes from the ranks' affinity (Slurm's cgroup); check srun --cpu-bind");
  }
  BindingPlan plan;
  plan.policy = request.policy;
  plan.gpus = request.gpus;
  int available = static_cast<int>(cores.size());
  plan.cpus_per_rank = cores_per_rank(request, available, plan.warnings);
  long wanted = static_cast<long>(request.local_ranks) * plan.cpus_per_rank;
  plan.oversubscribed = wanted > available;
  if (plan.oversubscribed) {
    std::string per_rank = plan.cpus_per_rank == 1 ? "1 core" : fmt::format("{} cores", plan.cpus_per_rank);
    plan.warnings.push_back(fmt::format(
        "{} ranks x {} need {} cores but only {} are allowed (pu {}): ranks share cores (oversubscribed){}",
        request.local_ranks, per_rank, wanted, available, format_cpu_list(pus_of(cores)),
        request.policy == BindPolicy::automatic ? "; not binding them (--bind core pins them anyway)" : ""));
  }
  Layout layout = layout_for(plan.policy, cores, request.local_ranks, plan.cpus_per_rank, plan.oversubscribed);
  for (int r = 0; r < request.local_ranks; ++r) plan.ranks.push_back(binding_of(topology, cores, layout[r], r));
  add_device_env(topology, request, plan);
  return plan;
}

RankBinding restricted_to(const RankBinding& binding, const CpuList& allowed) {
  RankBinding out = binding;
  out.pus = intersect(binding.pus, allowed);
  out.cores.clear();
  for (const auto& core : binding.cores) {
    CpuList pus = intersect(core.pus, allowed);
    if (!pus.empty()) out.cores.push_back({core.index, std::move(pus)});
  }
  if (out.pus.empty()) out.numa = -1;
  return out;
}

}  // namespace hl::devices
