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

namespace hl::launcher {

enum class Launcher { automatic, mpirun, srun };

struct RunOptions {
  std::optional<int> ntasks;  // nullopt: not given
  std::string image;
  std::vector<std::string> mounts;  // --mount values, parsed by the plan (errors name the value)
  std::vector<std::string> env;     // --env values, the same
  std::string workdir;
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
  std::string stage = "auto";  // --stage auto|memory|DIR|none
  int fuse_threads = 0;        // --fuse-threads (0: from the node's ranks and cores)
  bool dry_run = false;
  bool verbose = false;
  bool json = false;
  std::vector<std::string> command;
};

struct LaunchContext {
  EnvList env;  // the front end's environment
  std::string cwd;
  uid_t uid = 0;
  std::string self;   // absolute path of the hpclaunch binary
  std::string nonce;  // random: names this launch's directories (never on a command line)
  std::string host;   // this machine's name
  std::string runtime_dir;  // this user's private runtime dir here (common/private_dir.hpp)
  int local_cpus = 1;
  // Slurm's TaskPlugin can bind (task/affinity, task/cgroup): only then is
  // --cpu-bind=none needed, and with task/none srun complains about it.
  bool slurm_binds_tasks = true;
};

// This process's context: environment, cwd, uid, binary, a fresh nonce.
LaunchContext this_context();

}  // namespace hl::launcher
