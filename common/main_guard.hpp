#pragma once
// The one place a program's errors are caught (each of our mains calls it):
// an hl::Error prints its one-line description and exits with its code,
// anything else prints what() and exits 1. Never a stack trace.
#include <exception>

#include "common/error.hpp"
#include "common/log.hpp"

namespace hl {

template <typename Body>
int run_main(Body&& body) {
  try {
    return body();
  } catch (const Error& e) {
    log::error("{}", e.describe());
    return e.exit_code();
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
  return 1;
}

}  // namespace hl
