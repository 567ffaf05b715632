#pragma once
// Builds the container root inside a fresh mount namespace: a writable
// overlay over the FUSE-mounted image, the minimal /dev, the planned binds,
// generated /etc files; then pivots into it. Runs in a child of the holder,
// never in the holder (it serves FUSE: a lookup from its own thread would wait
// on itself forever).
//
// The image is untrusted: its symlinks are followed only inside it, a mount
// target that is itself a symlink in the image is replaced (in the overlay's
// upper layer) by a real directory or file, nothing is ever created through
// a bind from the host, and the files read from it must be small regular files.
#include <optional>
#include <string>
#include <vector>

#include "image/etc_files.hpp"
#include "image/mount_plan.hpp"

namespace hl::image {

struct RootfsSpec {
  std::vector<MountSpec> mounts;
  std::vector<std::string> device_nodes;  // names under /dev
  UserEntry user;
};

// overlayfs: lower = the image, upper/work on the holder's tmpfs; `userxattr`
// lets an unprivileged user namespace mount it.
void mount_overlay(const std::string& lower, const std::string& upper, const std::string& work,
                   const std::string& target);

// Before the overlay is mounted: create every mount target and the generated
// /etc/passwd and /etc/group in the upper layer. An unprivileged user cannot
// add entries to image directories through the overlay (their owner, root,
// is not mapped in our namespace), but owns the tmpfs upper layer. Returns
// the mounts with their targets resolved inside the image (symlinks of the
// image followed the way the container will see them).
std::vector<MountSpec> prepare_upper_layer(const std::string& lower, const std::string& upper, const RootfsSpec& spec);

// Mounts /dev and the binds (as prepare_upper_layer resolved them) onto the
// merged root; every failing step names its path.
void populate_root(const std::string& root, const RootfsSpec& spec, const std::vector<MountSpec>& resolved);

// Reads the image's /etc/environment (empty if absent), resolved inside root.
EnvList read_image_environment(const std::string& root);

// One small text file of the image (/etc/rc, /.hpclaunch/config.json),
// resolved inside root, bounded like /etc/environment; nullopt if absent.
std::optional<std::string> read_image_text_file(const std::string& root, const std::string& path);

// The root mount (not the binds on it) read-only: mount_setattr, not recursive.
void make_root_read_only(const std::string& root);

// pivot_root(".", ".") then detach the old root, so no host path stays reachable.
void pivot_into(const std::string& root);

}  // namespace hl::image
