#pragma once
// The launch config as one typed object. The front end parses the command
// line once into a LaunchSpec; the node step gets it whole, each holder gets
// it with the image's identity (holder_protocol.hpp), and each rank gets its
// JoinSpec part. This file owns both wire formats: JSON in one environment
// variable of the step, never on a command line (argv is world-readable in
// /proc/PID/cmdline; environ is owner-only), so srun and mpirun carry them
// like any other variable of the job.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/env.hpp"
#include "devices/binding_options.hpp"
#include "image/container_spec.hpp"
#include "image/serving_spec.hpp"

namespace hl::wireup {

// What every rank needs to join its node's container.
struct JoinSpec {
  // The node's rendezvous: <runtime dir>/<group>/<host>/rendezvous (rendezvous.hpp).
  std::string rendezvous_group;
  int timeout_s = 120;                 // --join-timeout: ranks and holders wait this long for each other
  std::string workdir;                 // where the rank starts (checked inside the container)
  bool workdir_given = false;          // --workdir: else the image's WorkingDir, if it has one, wins
  EnvList user_env;                    // --env, wins over everything but the rank's own launcher variables
  EnvList site_env;                    // environ.d (site, then user), in order; values may hold ${VAR}
  bool cleanenv = false;               // --cleanenv: of the rank's own variables only the keep-list and the launcher's
  std::vector<std::string> unset_env;  // --unset-env NAME or PREFIX*
  // --entrypoint, --no-entrypoint, --entrypoint-wrap (the command is the
  // rank's argv: hpclaunch-join fills it in).
  image::CommandOptions command;
  bool report_bindings = false;
  // How this launch's ranks are bound: planned by the holder per join, so
  // each launch into a named container may ask for its own.
  devices::BindingOptions binding;
  bool root = false;   // --root: these ranks are uid 0 inside (the container's root view)
  int local_size = 0;  // used when the launcher's variables do not say (companion mode)
  // Companion mode: a failed container is reported by local rank 0 only,
  // so a node prints its error once, not once per task.
  bool quiet_unless_first = false;
};

// A named container (--name): made by the first launch with the name, kept
// (holders, FUSE mounts, writable layer) for later launches to join.
struct NamedSpec {
  std::string name;          // "" for an unnamed launch
  bool in_job = false;       // inside a Slurm job: kept for the job's life
  int idle_timeout_s = 600;  // outside a job: stops after this long with no rank
};

struct LaunchSpec {
  image::ContainerSpec container;
  JoinSpec join;
  NamedSpec named;
  image::ServingSpec serving;  // --stage, --fuse-threads
  bool verbose = false;
  // How long a node step waits in one PMIx fence before it gives up and the
  // front end starts it again (HPCLAUNCH_FENCE_TIMEOUT; 0: 10 s + 20 ms per
  // node). Slurm 22.05's PMIx plugin now and then loses a node's fence
  // contribution: the other nodes would wait for it forever.
  int fence_timeout_s = 0;
};

// The environment variables that carry them (the app never sees them:
// compose_environment drops HPCLAUNCH_INTERNAL_*).
inline constexpr const char* kLaunchSpecVariable = "HPCLAUNCH_INTERNAL_LAUNCH";
inline constexpr const char* kJoinSpecVariable = "HPCLAUNCH_INTERNAL_JOIN";
// The image's identity (image::ImageMetadata as JSON) as the front end read
// it with the job's one stat: the node steps open the image and compare.
inline constexpr const char* kImageIdentityVariable = "HPCLAUNCH_INTERNAL_IMAGE";
// "stdin": the node step waits for the front end's go (holder_protocol.hpp).
inline constexpr const char* kServeGateVariable = "HPCLAUNCH_INTERNAL_SERVE_GATE";

std::string encode(const LaunchSpec& spec);
std::string encode(const JoinSpec& spec);
// Throw hl::Error "malformed ..." on anything that is not what encode wrote.
LaunchSpec decode_launch_spec(std::string_view text);
JoinSpec decode_join_spec(std::string_view text);

// From this process's environment; a missing variable means the binary was
// run by hand: "`program` is internal: started by `hpclaunch run`".
LaunchSpec launch_spec_from_environment(std::string_view program);
JoinSpec join_spec_from_environment(std::string_view program);

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(JoinSpec, rendezvous_group, timeout_s, workdir, workdir_given, user_env, site_env,
                                   cleanenv, unset_env, command, report_bindings, binding, root, local_size,
                                   quiet_unless_first)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(NamedSpec, name, in_job, idle_timeout_s)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LaunchSpec, container, join, named, serving, verbose, fence_timeout_s)

}  // namespace hl::wireup
