#pragma once
// The probes `hpclaunch doctor` runs itself: sysctls, directories, our
// binaries, the launchers (srun, mpirun: each run with a timeout, its output
// captured) and the image's superblock; and hpclaunch-node's report of the
// probes that unshare and mount (node_probes.hpp), run as a child process.
// Nothing here unshares or mounts: hpclaunch must leave this process as it
// found it.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.hpp"
#include "doctor/facts.hpp"

namespace hl::doctor {

struct HostProbeRequest {
  EnvList env;        // this process's environment
  std::string cwd;    // relative --image paths start here
  std::string image;  // --image, "" when none
  // The encoded launch spec that hpclaunch-node builds the container of
  // once (with --image), "" when none.
  std::string launch_spec;
  // Why there is no launch spec for --image: planning the launch failed as a
  // launch would (a squatted runtime dir, say); image-mount reports it.
  std::optional<Outcome> plan_failure;
};

HostFacts probe_host(const HostProbeRequest& request);

// Library names the dynamic loader reported as "not found" in the output of a
// binary run with LD_TRACE_LOADED_OBJECTS=1 (what ldd prints).
std::vector<std::string> libraries_not_found(std::string_view ld_trace_output);

}  // namespace hl::doctor
