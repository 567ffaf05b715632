#include "doctor/report.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace hl::doctor {
namespace {

// Problems stand out in capitals; fine and not-applicable rows stay quiet.
std::string_view shown(Result result) {
  switch (result) {
    case Result::ok:
      return "ok";
    case Result::warn:
      return "WARN";
    case Result::fail:
      return "FAIL";
    case Result::skip:
      return "skip";
  }
  return "?";
}

std::string verdict(const std::vector<Check>& checks) {
  std::vector<std::string> failed;
  int warnings = 0;
  for (const auto& c : checks) {
    if (c.required && c.result == Result::fail) failed.push_back(c.title);
    if (c.result == Result::warn) ++warnings;
  }
  if (!failed.empty()) {
    return fmt::format("launches cannot work on this node: {} required check{} failed ({})", failed.size(),
                       failed.size() == 1 ? "" : "s", fmt::join(failed, ", "));
  }
  if (warnings > 0)
    return fmt::format("launches can work on this node ({} warning{})", warnings, warnings == 1 ? "" : "s");
  return "launches can work on this node";
}

}  // namespace

std::string render_table(const ReportHeader& header, const std::vector<Check>& checks) {
  std::size_t width = 5;  // "CHECK"
  for (const auto& c : checks) width = std::max(width, c.title.size());
  std::string out = fmt::format("hpclaunch {} doctor on {}\n", header.version, header.host);
  out += fmt::format("{:<{}}  {:<4}  {:<6}  {}\n", "CHECK", width, "NEED", "RESULT", "DETAIL");
  for (const auto& c : checks) {
    out += fmt::format("{:<{}}  {:<4}  {:<6}  {}\n", c.title, width, c.required ? "req" : "info", shown(c.result),
                       c.detail);
    if (!c.fix.empty()) out += fmt::format("{:<{}}fix: {}\n", "", width + 16, c.fix);
  }
  return out + verdict(checks) + "\n";
}

nlohmann::ordered_json render_json(const ReportHeader& header, const std::vector<Check>& checks) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& c : checks) {
    list.push_back(nlohmann::ordered_json{{"id", c.id},
                                          {"title", c.title},
                                          {"required", c.required},
                                          {"result", to_string(c.result)},
                                          {"detail", c.detail},
                                          {"fix", c.fix}});
  }
  return nlohmann::ordered_json{{"hpclaunch", header.version},
                                {"host", header.host},
                                {"launches_can_work", launches_can_work(checks)},
                                {"checks", list}};
}

}  // namespace hl::doctor
