#include "launcher/hostlist.hpp"

#include <charconv>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/strings.hpp"

namespace hl::launcher {
namespace {

constexpr std::size_t kMaxHosts = 1 << 20;

Error bad_list(std::string_view list) {
  return Error(fmt::format("`{}` is not a Slurm host list", list), "check SLURM_JOB_NODELIST");
}

// The terms of `list` split at commas outside brackets.
std::vector<std::string> terms(std::string_view list) {
  std::vector<std::string> out;
  int depth = 0;
  std::string current;
  for (char c : list) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (depth < 0 || depth > 1) throw bad_list(list);
    if (c == ',' && depth == 0) {
      out.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (depth != 0) throw bad_list(list);
  out.push_back(std::move(current));
  return out;
}

unsigned long number(std::string_view text, std::string_view list) {
  unsigned long value = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || err != std::errc() || end != text.data() + text.size()) throw bad_list(list);
  return value;
}

// "1-4,07" inside one bracket: each number, zero-padded like its range's start.
std::vector<std::string> range_values(std::string_view ranges, std::string_view list) {
  std::vector<std::string> out;
  for (const auto& range : split(ranges, ',')) {
    auto dash = range.find('-');
    std::string first = range.substr(0, dash);
    std::string last = dash == std::string::npos ? first : range.substr(dash + 1);
    unsigned long a = number(first, list), b = number(last, list);
    if (b < a || b - a > kMaxHosts) throw bad_list(list);
    for (unsigned long v = a; v <= b; ++v) out.push_back(fmt::format("{:0{}}", v, first.size()));
  }
  return out;
}

// One term, with any number of bracket groups ("rack[1-2]-node[01-02]").
void expand_term(std::string_view term, std::string prefix, std::vector<std::string>& out, std::string_view list) {
  auto open = term.find('[');
  if (open == std::string_view::npos) {
    out.push_back(prefix + std::string(term));
    return;
  }
  auto close = term.find(']', open);
  if (close == std::string_view::npos) throw bad_list(list);
  std::string head = prefix + std::string(term.substr(0, open));
  for (const auto& value : range_values(term.substr(open + 1, close - open - 1), list)) {
    expand_term(term.substr(close + 1), head + value, out, list);
    if (out.size() > kMaxHosts) throw bad_list(list);
  }
}

}  // namespace

std::vector<std::string> expand_hostlist(std::string_view list) {
  std::vector<std::string> hosts;
  for (const auto& term : terms(list)) {
    if (term.empty()) continue;
    expand_term(term, "", hosts, list);
  }
  return hosts;
}

}  // namespace hl::launcher
