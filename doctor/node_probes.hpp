#pragma once
// `hpclaunch-node doctor-probe [--image]` (hidden): the probes of `hpclaunch
// doctor` that unshare, mount or open /dev/fuse, run by the binary that does
// these things in a launch, each in a forked child so that no namespace or
// mount outlives it. With --image it also builds the container of the
// launch spec in its environment once, as a holder would, and tears it down.
// Prints one JSON object (facts.hpp: NodeProbes) on stdout.
namespace hl::doctor {

int run_node_probes(int argc, char** argv);

}  // namespace hl::doctor
