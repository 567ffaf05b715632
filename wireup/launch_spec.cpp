#include "wireup/launch_spec.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/json.hpp"

namespace hl::wireup {
namespace {

std::string internal_variable(const char* name, std::string_view program) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw Error(fmt::format("{} is internal: started by `hpclaunch run`", program), "run hpclaunch instead", 2);
  }
  return value;
}

}  // namespace

std::string encode(const LaunchSpec& spec) { return to_wire(spec); }
std::string encode(const JoinSpec& spec) { return to_wire(spec); }

LaunchSpec decode_launch_spec(std::string_view text) { return decode_json<LaunchSpec>(text, "launch spec"); }
JoinSpec decode_join_spec(std::string_view text) { return decode_json<JoinSpec>(text, "join spec"); }

LaunchSpec launch_spec_from_environment(std::string_view program) {
  return decode_launch_spec(internal_variable(kLaunchSpecVariable, program));
}

JoinSpec join_spec_from_environment(std::string_view program) {
  return decode_join_spec(internal_variable(kJoinSpecVariable, program));
}

}  // namespace hl::wireup
