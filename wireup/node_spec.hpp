#pragma once
// What the front end passes to every node-step rank (JSON on its command line).
#include <string>

#include <nlohmann/json.hpp>

#include "image/mount_plan.hpp"

namespace hl::wireup {

struct NodeSpec {
  std::string image_path;
  image::MountInputs mounts;  // session dirs are added on each node
  std::string socket_name;
  int join_timeout_s = 120;
  std::string staging_parent = "/tmp";
  bool verbose = false;
  std::string program;  // checked once per node inside the built container
  std::string bind = "auto";
  std::string gpus = "all";
  int cpus_per_rank = 0;
};

void to_json(nlohmann::json& j, const NodeSpec& s);
void from_json(const nlohmann::json& j, NodeSpec& s);

// Parent dirs of the PMIx / Open MPI session directories named in `env`
// (the node step's own): the app step's dirs appear there after the
// container is built, so the parents must be visible at the same path.
std::vector<std::string> session_dirs_from_environment(const std::vector<std::pair<std::string, std::string>>& env);

// Directories the app step's PMIx server and client will use on this node,
// found from this process's environment (a task of the same job).
std::vector<std::string> node_session_dirs();

// Slurm's PMIx plugin puts each step's client dir (spmix_appdir_UID_JOB.STEP)
// under PMIxCliTmpDirBase of mpi.conf, which no variable names. "" if unset.
std::string pmix_client_dir_base(std::string_view mpi_conf);

}  // namespace hl::wireup
