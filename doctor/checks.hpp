#pragma once
// The checks of `hpclaunch doctor`: what the probes found (facts.hpp) ->
// one verdict per check, with the fix. Pure, so every verdict is
// unit-tested. Required checks decide whether launches can work on this node
// (doctor's exit status); informational ones tell what else is worth knowing
// (versions, restrictions that may matter).
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "doctor/facts.hpp"

namespace hl::doctor {

// ok; warn: works, but something deserves a look (an informational check
// that found a problem is never worse than warn); fail: launches cannot
// work until it is fixed; skip: does not apply here, or could not be tried
// because a check it needs failed.
enum class Result { ok, warn, fail, skip };
std::string_view to_string(Result result);

struct Check {
  std::string id;     // stable, for --json and scripts
  std::string title;  // for the table
  bool required = true;
  Result result = Result::ok;
  std::string detail;  // what was found, or what failed
  std::string fix;     // "" when there is nothing to do
};

std::vector<Check> evaluate(const HostFacts& facts);

// Every required check is ok, warn or skip.
bool launches_can_work(const std::vector<Check>& checks);

// The Linux release that brought each kernel feature hpclaunch uses
// (the README's kernel baseline); the newest of them is the baseline.
struct KernelFeature {
  std::string_view what;
  int major;
  int minor;
};
std::span<const KernelFeature> kernel_baseline();

// "6.18.44-fc-v669" -> {6, 18}; nullopt when it does not start with N.N.
std::optional<std::pair<int, int>> kernel_version(std::string_view release);
// `srun --version`: "slurm 22.05.8" -> "22.05.8" ("" when not that form).
std::string slurm_version(std::string_view output);
// `srun --mpi=list`: the PMIx plugin names it lists ("pmix", "pmix_v4").
std::vector<std::string> srun_pmix_plugins(std::string_view output);
// `mpirun --version`: "mpirun (Open MPI) 4.1.4" -> "4.1.4"; "" when the
// mpirun is not Open MPI's (MPICH's Hydra, say).
std::string open_mpi_version(std::string_view output);

// A hint without the "run `hpclaunch doctor`" that launch errors end with.
std::string without_doctor_hint(std::string_view hint);

}  // namespace hl::doctor
