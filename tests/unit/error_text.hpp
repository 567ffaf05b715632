#pragma once
// What a failing call says, for tests that check error messages: the text of
// the hl::Error it throws, or "no error".
#include <functional>
#include <string>

#include "common/error.hpp"

namespace hl::testing {

// e.what(); with describe = true, e.describe() (message and hint).
inline std::string error_text(const std::function<void()>& f, bool describe = false) {
  try {
    f();
  } catch (const Error& e) {
    return describe ? e.describe() : e.what();
  }
  return "no error";
}

}  // namespace hl::testing
