#pragma once
// CPU sets as sorted lists of PU os-indexes: the numbering sched_setaffinity,
// Slurm and /proc/self/status (Cpus_allowed_list) use, with their "0-3,8" text.
#include <string>
#include <string_view>
#include <vector>

namespace hl::devices {

using CpuList = std::vector<int>;  // sorted, no duplicates

CpuList normalized(CpuList cpus);
// "0-3,8"; "" for an empty list.
std::string format_cpu_list(const CpuList& cpus);
// Parses "0-3,8" (spaces and a trailing newline allowed); throws hl::Error.
CpuList parse_cpu_list(std::string_view text);

CpuList intersect(const CpuList& a, const CpuList& b);
CpuList unite(const CpuList& a, const CpuList& b);
// true when every element of `inner` is in `outer`.
bool contains_all(const CpuList& outer, const CpuList& inner);

}  // namespace hl::devices
