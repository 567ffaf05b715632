#pragma once
// The node's container holder, a process of its own (after MPI_Init or
// PMIx_Init the starter is multi-threaded and could not unshare a user
// namespace). It builds the container, then serves FUSE, joins, pidfds of
// joined ranks and signals from one single-threaded poll loop until every
// expected local rank has joined and exited, it is released, or the join
// timeout passes.
#include "common/unique_fd.hpp"
#include "wireup/launch_spec.hpp"

namespace hl::wireup {

// `hpclaunch-node holder`: started by the node step (or the front end on
// one machine) with the control socket on kHolderControlFd; answers "ready"
// or the error, and lets ranks in only after "serve".
int run_holder();

// `hpclaunch-node companion-holder` (companion mode, `hpclaunch exec`): the
// first task of a node passes the listening rendezvous socket; the holder
// stats the image itself (no node step, so no broadcast: one stat per node),
// builds the container and serves joins until every expected local task has
// joined and exited, or nobody joined for the join timeout. A build failure
// is served to every task that joins, for a short while.
int run_companion_holder(UniqueFd listener, const LaunchSpec& launch);

}  // namespace hl::wireup
