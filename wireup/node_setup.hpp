#pragma once
// What only this node knows, found by its holder: the PMIx / Slurm / Open
// MPI session dirs its ranks will use, its GPUs and HCAs, the user's passwd
// entry, and the PATH to fall back on. Added to the launch spec's container
// (image::NodeSetup) and to every joining rank's environment.
#include <string>
#include <string_view>
#include <vector>

#include "common/env.hpp"
#include "image/container_spec.hpp"
#include "wireup/launch_spec.hpp"

namespace hl::wireup {

struct NodeFacts {
  image::NodeSetup setup;
  std::vector<std::string> library_dirs;  // appended to the ranks' LD_LIBRARY_PATH (GPU driver)
  std::vector<std::string> bin_dirs;      // appended to their PATH (nvidia-smi)
};

// Looks at this node (its environment, /dev, ldconfig, passwd). `launch_dir`
// is this launch's directory in the runtime dir (<runtime>/<group>): bound
// into the container, since Open MPI's session dirs for the app step appear
// there (under mpirun) after the container is built.
NodeFacts discover_node_facts(const LaunchSpec& launch, const std::string& launch_dir);

// Parent dirs of the PMIx / Open MPI session directories named in `env`
// (the node step's own): the app step's dirs appear there after the
// container is built, so the parents must be visible at the same path.
std::vector<std::string> session_dirs_from_environment(const EnvList& env);

// Directories the app step's PMIx server and client will use on this node,
// found from `env` (a task of the same job) and Slurm's mpi.conf.
std::vector<std::string> node_session_dirs(const EnvList& env);

// SlurmdSpoolDir of slurm.conf with %n (node name) and %h (host name)
// expanded; Slurm's default when unset. Each step's PMIx server dir
// (pmix.JOB.STEP) appears there; a holder started by the batch script itself
// (a one-node job) has no PMIx variable to find it from.
std::string slurmd_spool_dir(std::string_view slurm_conf, std::string_view node, std::string_view host);

// Slurm's PMIx plugin puts each step's client dir (spmix_appdir_UID_JOB.STEP)
// under PMIxCliTmpDirBase of mpi.conf, which no variable names. "" if unset.
std::string pmix_client_dir_base(std::string_view mpi_conf);

}  // namespace hl::wireup
