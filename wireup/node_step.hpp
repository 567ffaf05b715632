#pragma once
// `hpclaunch-node step`: one task per node, bootstrapped through PMIx (srun
// --mpi=pmix or mpirun). Rank 0 stats the image once and shares its
// identity; every rank has its node's holder build the container; the
// holders let ranks in once every node is ready. Exits with the holder's status.
#include "wireup/launch_spec.hpp"

namespace hl::wireup {

int run_node_step(const LaunchSpec& spec);

}  // namespace hl::wireup
