#pragma once
// JSON at process boundaries (node step, holder, joiners): one way to decode
// a message into a typed value, and hl::Error as a message, so a peer that
// sends garbage gets one line naming the message, not a parser stack.
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace hl {

// Throws when `j` holds a floating-point number anywhere: none of our
// messages has one, and converting an out-of-range double to an int field
// (get<int>() of 1e300) is undefined behaviour (found by the fuzzer).
void reject_floats(const nlohmann::json& j, std::string_view what);

// Parses `text` into T; anything malformed (syntax, missing field, wrong
// type) is an hl::Error "malformed <what>: <detail>".
template <typename T>
T decode_json(std::string_view text, std::string_view what) {
  try {
    auto j = nlohmann::json::parse(text);
    reject_floats(j, what);
    return j.get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("malformed {}: {}", what, e.what()));
  }
}

// `j` as one line for another process. Strings from an image (its
// /etc/environment) need not be UTF-8: invalid bytes become U+FFFD instead
// of an exception in the middle of a serve loop.
std::string to_wire(const nlohmann::json& j);

// {"error": message, "hint": hint, "exit_code": code}
nlohmann::json error_to_json(const Error& e);
Error error_from_json(const nlohmann::json& j);
// A JSON object that carries an "error" field.
bool is_error_json(const nlohmann::json& j);

}  // namespace hl
