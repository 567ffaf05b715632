#pragma once
// The container's two user namespaces. The holder's own (the "root view")
// maps uid/gid 0 to the caller, so image files owned by root are ours and
// --root ranks are root in it; a nested one (the "user view") maps the
// caller's uid/gid back onto that 0, so ordinary ranks see their own uid —
// PMIx's native security compares it with the server's, and a root uid would
// break MPI_Init. Both views see the same mounts; every rank of a node is in
// the same user namespace (CMA needs that).
#include <sys/types.h>

#include "common/unique_fd.hpp"

namespace hl::image {

// unshare(CLONE_NEWUSER | CLONE_NEWNS) and map uid/gid 0 to the caller's
// `uid`/`gid`. Must be called from a single-threaded process (the kernel
// refuses otherwise: EINVAL).
void enter_root_view_namespace(uid_t uid, gid_t gid);

// A user namespace nested in ours that maps `uid`/`gid` to our 0: made by a
// short-lived child (its /proc/PID/ns/user is kept open; the namespace lives
// on through the fd).
UniqueFd make_user_view_namespace(uid_t uid, gid_t gid);

// Stops mounts made in our namespace from propagating back (and vice versa).
void make_mounts_private();

}  // namespace hl::image
