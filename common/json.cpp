#include "common/json.hpp"

namespace hl {

void reject_floats(const nlohmann::json& j, std::string_view what) {
  if (j.is_number_float()) throw Error(fmt::format("malformed {}: a non-integer number", what));
  if (j.is_structured()) {
    for (const auto& item : j) reject_floats(item, what);
  }
}

std::string to_wire(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json error_to_json(const Error& e) {
  return {{"error", e.what()}, {"hint", e.hint()}, {"exit_code", e.exit_code()}};
}

Error error_from_json(const nlohmann::json& j) {
  auto text = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto it = j.find("exit_code");
  int code = it != j.end() && it->is_number_integer() ? it->get<int>() : 1;
  std::string message = text("error");
  return Error(message.empty() ? "unknown error" : message, text("hint"), code);
}

bool is_error_json(const nlohmann::json& j) { return j.is_object() && j.contains("error"); }

}  // namespace hl
