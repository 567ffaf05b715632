#include "wireup/node_spec.hpp"

#include <algorithm>

#include "common/strings.hpp"

namespace hl::wireup {

void to_json(nlohmann::json& j, const NodeSpec& s) {
  j = {{"image_path", s.image_path},
       {"user_mounts", s.mounts.user_mounts},
       {"cwd", s.mounts.cwd},
       {"home", s.mounts.home},
       {"workdir", s.mounts.workdir},
       {"tmpdir", s.mounts.tmpdir},
       {"socket_name", s.socket_name},
       {"join_timeout_s", s.join_timeout_s},
       {"staging_parent", s.staging_parent},
       {"verbose", s.verbose},
       {"program", s.program}};
}

void from_json(const nlohmann::json& j, NodeSpec& s) {
  s.image_path = j.at("image_path").get<std::string>();
  s.mounts.user_mounts = j.at("user_mounts").get<std::vector<std::string>>();
  s.mounts.cwd = j.at("cwd").get<std::string>();
  s.mounts.home = j.at("home").get<std::string>();
  s.mounts.workdir = j.at("workdir").get<std::string>();
  s.mounts.tmpdir = j.at("tmpdir").get<std::string>();
  s.socket_name = j.at("socket_name").get<std::string>();
  s.join_timeout_s = j.at("join_timeout_s").get<int>();
  s.staging_parent = j.at("staging_parent").get<std::string>();
  s.verbose = j.at("verbose").get<bool>();
  s.program = j.at("program").get<std::string>();
}

std::vector<std::string> session_dirs_from_environment(const std::vector<std::pair<std::string, std::string>>& env) {
  static const std::vector<std::string> keys = {"PMIX_SERVER_TMPDIR", "PMIX_SYSTEM_TMPDIR", "OMPI_MCA_orte_tmpdir_base",
                                                "SLURM_PMIX_TMPDIR"};
  std::vector<std::string> dirs;
  for (const auto& [key, value] : env) {
    if (value.empty() || value.front() != '/') continue;
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) continue;
    std::string parent = dirname_of(value);
    if (parent != "/" && std::find(dirs.begin(), dirs.end(), parent) == dirs.end()) dirs.push_back(parent);
  }
  return dirs;
}

}  // namespace hl::wireup
