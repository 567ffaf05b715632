// hpclaunch-join: what every rank of the app step runs. A binary of its own
// because it starts once per rank: `hpclaunch` links curl, libarchive,
// squashfuse, hwloc and their dependencies (51 shared libraries, ~9 ms of CPU
// per exec on the test machine, 1.2 s of a 256-rank launch on 2 cores);
// this one links only what joining needs.
#include "common/main_guard.hpp"
#include "wireup/join.hpp"

int main(int argc, char** argv) {
  return hl::run_main([&]() -> int {
    auto command = hl::wireup::parse_join_command(argc, argv);
    hl::wireup::run_join(hl::wireup::join_spec_from_environment("hpclaunch-join"), command);
  });
}
