// hpclaunch-node: what runs on the nodes — the node step, the container
// holder (its own process: the node step is multi-threaded once its MPI or
// PMIx runtime starts), companion mode's daemon holder, and the topology
// report. A binary of its own so that `hpclaunch`, which every companion task
// and every front end execs, loads none of squashfuse, FUSE, hwloc or MPI.
#include <cstring>
#include <string_view>

#include "common/log.hpp"
#include "common/main_guard.hpp"
#include "devices/topology_command.hpp"
#include "doctor/node_probes.hpp"
#include "wireup/holder.hpp"
#include "wireup/holder_protocol.hpp"
#include "wireup/launch_spec.hpp"
#include "wireup/node_step.hpp"

using namespace hl;

namespace {

int dispatch(int argc, char** argv) {
  std::string_view command = argc > 1 ? argv[1] : "";
  if (command == "step") return wireup::run_node_step(wireup::launch_spec_from_environment("hpclaunch-node step"));
  if (command == "holder") return wireup::run_holder();
  if (command == "companion-holder") {
    return wireup::run_companion_holder(UniqueFd(wireup::kCompanionListenerFd),
                                        wireup::launch_spec_from_environment("hpclaunch-node companion-holder"));
  }
  if (command == "topology") {
    argv[1] = const_cast<char*>("hpclaunch topology");
    return devices::run_topology_command(argc - 1, argv + 1);
  }
  if (command == "doctor-probe") return doctor::run_node_probes(argc - 1, argv + 1);  // hpclaunch doctor
  log::error("hpclaunch-node is internal: started by `hpclaunch run`, `hpclaunch exec` and `hpclaunch topology`");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return dispatch(argc, argv); });
}
