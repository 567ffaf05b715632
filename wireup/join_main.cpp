// hpclaunch-join: what every rank of the app step runs. A binary of its own
// because it starts once per rank: `hpclaunch` links curl, libarchive,
// squashfuse, hwloc and their dependencies (51 shared libraries, ~9 ms of CPU
// per exec on the test machine, 1.2 s of a 256-rank launch on 2 cores);
// this one links only what joining needs.
#include <exception>

#include "common/error.hpp"
#include "common/log.hpp"
#include "wireup/join.hpp"

int main(int argc, char** argv) {
  using namespace hl;
  try {
    wireup::run_join(wireup::parse_join_arguments(argc, argv));
  } catch (const Error& e) {
    log::error("{}", e.describe());
    return e.exit_code();
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
  return 1;
}
