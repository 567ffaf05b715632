#pragma once
// How `hpclaunch doctor` shows its checks: a table for people (check, need,
// result, what was found, the fix under it), or one JSON object for tools.
// Pure.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "doctor/checks.hpp"

namespace hl::doctor {

struct ReportHeader {
  std::string version;  // hpclaunch's
  std::string host;
};

// The table, then one line: whether launches can work here, and if not
// which required checks failed.
std::string render_table(const ReportHeader& header, const std::vector<Check>& checks);

// {"hpclaunch": V, "host": H, "launches_can_work": B, "checks": [{"id", "title",
// "required", "result", "detail", "fix"}, ...]}
nlohmann::ordered_json render_json(const ReportHeader& header, const std::vector<Check>& checks);

}  // namespace hl::doctor
