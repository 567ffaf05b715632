#pragma once
#include <sys/types.h>

namespace hl::image {

// unshare(CLONE_NEWUSER | CLONE_NEWNS) and map the caller's uid and gid to
// themselves: PMIx's native security compares the uid seen inside with the
// server's, so a root mapping would break MPI_Init. Must be called from a
// single-threaded process (the kernel refuses otherwise: EINVAL).
void enter_user_and_mount_namespace(uid_t uid, gid_t gid);

// Stops mounts made in our namespace from propagating back (and vice versa).
void make_mounts_private();

}  // namespace hl::image
