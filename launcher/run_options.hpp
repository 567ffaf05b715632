#pragma once
// `hpclaunch run` and `hpclaunch exec` as typed values: what the user asked
// for (RunOptions, parsed at the edge by run_cli.cpp) and the facts of the
// environment the plan depends on (LaunchContext, gathered by the caller so
// that planning stays pure).
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/env.hpp"
#include "devices/binding_options.hpp"
#include "image/container_spec.hpp"

namespace hl::launcher {

enum class Launcher { automatic, mpirun, srun };

// What the site and user configuration (config/) adds to a launch besides
// option defaults: environ.d, mounts.d, hooks.d, and what the site fixed.
struct SiteInputs {
  EnvList env;                                                    // environ.d, in order; values may hold ${VAR}
  std::vector<std::pair<std::string, std::string>> fixed_env;     // key, origin: --env may not change these
  std::vector<image::MountSpec> mounts;                           // after the defaults, before --mount
  std::vector<std::pair<std::string, std::string>> fixed_mounts;  // target, origin
  std::vector<image::HookSpec> hooks;
};

struct RunOptions {
  std::optional<int> ntasks;  // nullopt: not given
  std::string image;
  std::vector<std::string> mounts;  // --mount values, parsed by the plan (errors name the value)
  std::vector<std::string> env;     // --env values, the same
  std::string workdir;
  // The image's Entrypoint (image/image_config.hpp): --entrypoint PROG,
  // --no-entrypoint, --entrypoint-wrap.
  std::string entrypoint;
  bool no_entrypoint = false;
  bool entrypoint_wrap = false;
  bool cleanenv = false;               // --cleanenv
  std::vector<std::string> unset_env;  // --unset-env NAME or PREFIX*
  bool no_home = false;                // --no-home: $HOME is not bound
  bool contain = false;                // --contain: private /tmp and /var/tmp
  Launcher launcher = Launcher::automatic;
  std::string hostfile;
  // srun options passed through to the app step (and -N to the node step).
  std::optional<int> nodes;
  std::optional<int> ntasks_per_node;
  std::optional<int> cpus_per_task;
  std::string distribution;
  std::string cpu_bind;
  // Binding and devices, planned per node by the holder (devices/).
  devices::BindPolicy bind = devices::BindPolicy::automatic;
  devices::GpuSelection gpus = devices::GpuSelection::all;
  bool report_bindings = false;
  bool root = false;      // --root: uid 0 inside, with faked chown & co. (seccomp)
  bool writable = false;  // --writable: writes anywhere in the container
  std::string name;       // --name: a named container, kept for later launches
  int idle_timeout_s = 600;
  int join_timeout_s = 120;
  bool insecure = false;       // --insecure: a docker:// --image from a plain-HTTP registry
  std::string stage = "auto";  // --stage auto|memory|DIR|none
  int fuse_threads = 0;        // --fuse-threads (0: from the node's ranks and cores)
  bool dry_run = false;
  bool verbose = false;
  bool json = false;
  std::vector<std::string> command;
  SiteInputs site;  // from the configuration files (run_cli.cpp reads them)
};

struct LaunchContext {
  EnvList env;  // the front end's environment
  std::string cwd;
  uid_t uid = 0;
  std::string self;         // absolute path of the hpclaunch binary
  std::string nonce;        // random: names this launch's directories (never on a command line)
  std::string host;         // this machine's name
  std::string runtime_dir;  // this user's private runtime dir here (common/private_dir.hpp)
  int local_cpus = 1;
  // Slurm's TaskPlugin can bind (task/affinity, task/cgroup): only then is
  // --cpu-bind=none needed, and with task/none srun complains about it.
  bool slurm_binds_tasks = true;
};

// This process's context: environment, cwd, uid, binary, a fresh nonce.
LaunchContext this_context();

}  // namespace hl::launcher
