#include "devices/cpu_list.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>

#include <fmt/format.h>

#include "common/error.hpp"

namespace hl::devices {
namespace {

// Largest PU index we accept: Linux's CONFIG_NR_CPUS tops out at 8192, so
// anything beyond is a typo that would make us allocate huge masks.
constexpr int kMaxCpu = 1 << 16;

int parse_index(std::string_view item, std::string_view whole) {
  int value = -1;
  auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
  if (ec != std::errc{} || end != item.data() + item.size() || value < 0 || value > kMaxCpu) {
    throw Error(fmt::format("invalid cpu list `{}`: `{}` is not a cpu number", whole, item),
                "write cpus like 0-3,8 (os indexes, as in Cpus_allowed_list)");
  }
  return value;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

}  // namespace

CpuList normalized(CpuList cpus) {
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string format_cpu_list(const CpuList& cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", cpus[i]) : fmt::format("{}-{}", cpus[i], cpus[j]);
    i = j + 1;
  }
  return out;
}

CpuList parse_cpu_list(std::string_view text) {
  std::string_view whole = trimmed(text);
  CpuList cpus;
  std::string_view rest = whole;
  while (!rest.empty()) {
    std::size_t comma = rest.find(',');
    std::string_view item = trimmed(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    std::size_t dash = item.find('-');
    int first = parse_index(item.substr(0, dash), whole);
    int last = dash == std::string_view::npos ? first : parse_index(item.substr(dash + 1), whole);
    if (last < first) throw Error(fmt::format("invalid cpu list `{}`: range `{}` goes backwards", whole, item));
    for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
  }
  return normalized(std::move(cpus));
}

CpuList intersect(const CpuList& a, const CpuList& b) {
  CpuList out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

CpuList unite(const CpuList& a, const CpuList& b) {
  CpuList out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

bool contains_all(const CpuList& outer, const CpuList& inner) {
  return std::includes(outer.begin(), outer.end(), inner.begin(), inner.end());
}

}  // namespace hl::devices
