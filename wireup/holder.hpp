#pragma once
// `hpclaunch __holder`: started by the node step (fd 3 = control socket).
// Builds the node's container, answers "ready" or the error, then serves
// FUSE and joins in one single-threaded poll loop until every expected local
// rank has joined and exited, the node step releases it, or the join timeout.
#include "common/unique_fd.hpp"

namespace hl::wireup {

inline constexpr int kHolderControlFd = 3;

int run_holder();

struct NodeSpec;
// Companion mode's daemon holder (`hpclaunch exec`): stats the image itself,
// builds the container and serves joins on `listener` until every expected
// local task has joined and exited, or nobody joined for the join timeout.
int run_daemon_holder(UniqueFd listener, const NodeSpec& spec);

}  // namespace hl::wireup
