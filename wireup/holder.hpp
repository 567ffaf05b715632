#pragma once
// `hpclaunch __holder`: started by the node step (fd 3 = control socket).
// Builds the node's container, answers "ready" or the error, then serves
// FUSE and joins in one single-threaded poll loop until every expected local
// rank has joined and exited, the node step releases it, or the join timeout.
namespace hl::wireup {

inline constexpr int kHolderControlFd = 3;

int run_holder();

}  // namespace hl::wireup
