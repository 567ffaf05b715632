#include "devices/device_env.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "common/strings.hpp"

namespace hl::devices {
namespace {

struct GpuChoice {
  int index;          // into TopologyInfo::gpus (PCI bus order)
  std::string token;  // what CUDA_VISIBLE_DEVICES says for it
};

std::optional<int> gpu_index(std::string_view token, int count) {
  int value = -1;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc{} || end != token.data() + token.size() || value < 0 || value >= count) return std::nullopt;
  return value;
}

// The GPUs ranks may use: every one, or those an existing CUDA_VISIBLE_DEVICES
// names by index (Slurm's --gpus). UUIDs and MIG names can't be matched to the
// topology: then nothing is narrowed and the ranks keep their variable.
std::optional<std::vector<GpuChoice>> allowed_gpus(int count, const PlanRequest& request,
                                                   std::vector<std::string>& warnings) {
  std::vector<GpuChoice> out;
  if (!request.cuda_visible_devices) {
    for (int i = 0; i < count; ++i) out.push_back({i, std::to_string(i)});
    return out;
  }
  for (const auto& token : split(*request.cuda_visible_devices, ',')) {
    if (token.empty()) continue;
    auto index = gpu_index(token, count);
    if (!index) {
      warnings.push_back(
          fmt::format("CUDA_VISIBLE_DEVICES={} is not a list of GPU indexes below {}: "
                      "--gpus=per-rank left it as it is",
                      *request.cuda_visible_devices, count));
      return std::nullopt;
    }
    out.push_back({*index, token});
  }
  return out;
}

void add_gpu_env(const TopologyInfo& topology, const PlanRequest& request, BindingPlan& plan) {
  if (request.gpus != GpuSelection::per_rank) return;
  if (topology.gpus.empty()) {
    plan.warnings.push_back("--gpus=per-rank: this node has no NVIDIA GPU");
    return;
  }
  auto choices = allowed_gpus(static_cast<int>(topology.gpus.size()), request, plan.warnings);
  if (!choices || choices->empty()) return;
  int ranks = static_cast<int>(plan.ranks.size());
  int gpus = static_cast<int>(choices->size());
  std::vector<CpuList> rank_pus, gpu_pus;
  for (const auto& rank : plan.ranks) rank_pus.push_back(rank.pus);
  for (const auto& choice : *choices) gpu_pus.push_back(topology.gpus[choice.index].local_pus);
  // More ranks than GPUs: one GPU each, shared by at most ceil(ranks/gpus).
  // Fewer: the GPUs are divided, the first ranks taking one more.
  std::vector<int> picks(ranks, 1);
  int capacity = (ranks + gpus - 1) / gpus;
  if (gpus > ranks) {
    for (int r = 0; r < ranks; ++r) picks[r] = gpus / ranks + (r < gpus % ranks ? 1 : 0);
    capacity = 1;
  }
  auto assigned = nearest_devices(rank_pus, gpu_pus, picks, capacity);
  for (int r = 0; r < ranks; ++r) {
    std::vector<std::string> tokens;
    for (int g : assigned[r]) tokens.push_back((*choices)[g].token);
    // Our indexes are positions in PCI bus order; CUDA's default order is
    // "fastest first", which would make them point at other GPUs.
    plan.ranks[r].env.emplace_back("CUDA_DEVICE_ORDER", "PCI_BUS_ID");
    plan.ranks[r].env.emplace_back("CUDA_VISIBLE_DEVICES", fmt::format("{}", fmt::join(tokens, ",")));
  }
}

// Only RDMA devices: naming an Ethernet interface in UCX_NET_DEVICES would
// just pin UCX to TCP on it, which is no help.
void add_nic_env(const TopologyInfo& topology, const PlanRequest& request, BindingPlan& plan) {
  if (request.ucx_net_devices) return;  // the user chose
  std::vector<const IoDevice*> nics;
  std::vector<CpuList> nic_pus, rank_pus;
  for (const auto& nic : topology.nics) {
    if (nic.openfabrics) nics.push_back(&nic), nic_pus.push_back(nic.local_pus);
  }
  if (nics.empty()) return;
  for (const auto& rank : plan.ranks) rank_pus.push_back(rank.pus);
  int ranks = static_cast<int>(plan.ranks.size());
  auto assigned = nearest_devices(rank_pus, nic_pus, std::vector<int>(ranks, 1), ranks);
  for (int r = 0; r < ranks; ++r) {
    const IoDevice& nic = *nics[assigned[r].front()];
    plan.ranks[r].env.emplace_back("UCX_NET_DEVICES", fmt::format("{}:{}", nic.name, nic.port));
    plan.ranks[r].env.emplace_back("OMPI_MCA_btl_openib_if_include", nic.name);
  }
}

}  // namespace

std::vector<std::vector<int>> nearest_devices(const std::vector<CpuList>& ranks, const std::vector<CpuList>& devices,
                                              const std::vector<int>& picks, int capacity) {
  std::vector<int> load(devices.size(), 0);
  std::vector<std::vector<int>> out(ranks.size());
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    for (int k = 0; k < picks[r]; ++k) {
      int best = -1;
      std::tuple<long, long, long, long> best_key;
      for (std::size_t d = 0; d < devices.size(); ++d) {
        bool taken = std::find(out[r].begin(), out[r].end(), static_cast<int>(d)) != out[r].end();
        if (taken || load[d] >= capacity) continue;
        // Larger is better in every field.
        std::tuple<long, long, long, long> key{static_cast<long>(intersect(ranks[r], devices[d]).size()),
                                               -static_cast<long>(devices[d].size()), -load[d], -static_cast<long>(d)};
        if (best < 0 || key > best_key) best = static_cast<int>(d), best_key = key;
      }
      if (best < 0) break;  // capacity exhausted: cannot happen with the callers' numbers
      ++load[best];
      out[r].push_back(best);
    }
    std::sort(out[r].begin(), out[r].end());
  }
  return out;
}

void add_device_env(const TopologyInfo& topology, const PlanRequest& request, BindingPlan& plan) {
  add_gpu_env(topology, request, plan);
  add_nic_env(topology, request, plan);
}

}  // namespace hl::devices
