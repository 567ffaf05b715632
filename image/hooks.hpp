#pragma once
// hooks.d (config/): shell scripts the holder's build child runs once per
// node container, after its root is built and before any rank joins, in the
// container's mount namespace (what a hook mounts, the ranks see) with the
// host still reachable (a host MPI to bind lies there). Like enroot's hooks:
//   HPCLAUNCH_ROOTFS        the container's root, as the hook sees it
//   HPCLAUNCH_IMAGE         the image file
//   HPCLAUNCH_HOOK_ENVIRON  a file: KEY=VALUE lines written there reach every rank
// plus the node's environment (the job's SLURM_* ...) and the --env values.
// A hook that exits non-zero, or runs longer than the hook timeout, stops
// the launch with one line naming it and quoting its output.
#include <string>
#include <string_view>

#include "common/env.hpp"
#include "image/container_spec.hpp"

namespace hl::image {

// Runs spec.hooks in order (in a single-threaded process: it forks);
// `scratch` is a private directory for the environ file. Returns what the
// hooks wrote to HPCLAUNCH_HOOK_ENVIRON.
EnvList run_hooks(const ContainerSpec& spec, const std::string& root, const std::string& scratch);

// The hook's environment: `base` without hpclaunch's internal variables,
// then the --env values, then the HPCLAUNCH_* ones above.
EnvList hook_environment(const EnvList& base, const ContainerSpec& spec, const HookSpec& hook, const std::string& root,
                         const std::string& environ_file);

// "hook `10-mpi.sh` (/etc/hpclaunch/hooks.d/10-mpi.sh) failed (exit 3): LINE; LINE":
// `how` is describe_exit()'s text or "timed out after N s"; the output's
// last non-blank lines, at most ~400 bytes, on one line. Pure.
std::string hook_failure_message(const HookSpec& hook, const std::string& how, std::string_view output);

}  // namespace hl::image
