#include "wireup/node_spec.hpp"

#include <algorithm>
#include <cstdlib>

#include "common/error.hpp"
#include "common/strings.hpp"

extern char** environ;

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
       {"program", s.program},
       {"bind", s.bind},
       {"gpus", s.gpus},
       {"cpus_per_rank", s.cpus_per_rank}};
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
  s.bind = j.at("bind").get<std::string>();
  s.gpus = j.at("gpus").get<std::string>();
  s.cpus_per_rank = j.at("cpus_per_rank").get<int>();
}

std::vector<std::string> session_dirs_from_environment(const std::vector<std::pair<std::string, std::string>>& env) {
  static const std::vector<std::string> keys = {"PMIX_SERVER_TMPDIR", "PMIX_SYSTEM_TMPDIR", "OMPI_MCA_orte_tmpdir_base",
                                                "SLURM_PMIX_TMPDIR"};
  std::vector<std::string> dirs;
  for (const auto& [key, value] : env) {
    if (value.empty() || value.front() != '/') continue;
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) continue;
    std::string parent = dirname_of(absolute_path(value, "/"));  // "…/pmix.5.0/" has a trailing slash
    if (parent != "/" && std::find(dirs.begin(), dirs.end(), parent) == dirs.end()) dirs.push_back(parent);
  }
  return dirs;
}

std::vector<std::string> node_session_dirs() {
  std::vector<std::pair<std::string, std::string>> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (auto eq = entry.find('='); eq != std::string_view::npos) {
      env.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    }
  }
  auto dirs = session_dirs_from_environment(env);
  if (std::getenv("SLURM_JOB_ID") == nullptr) return dirs;
  const char* conf = std::getenv("SLURM_CONF");
  std::string mpi_conf = (conf != nullptr ? dirname_of(conf) : std::string("/etc/slurm")) + "/mpi.conf";
  try {
    std::string base = pmix_client_dir_base(read_file(mpi_conf));
    if (!base.empty()) dirs.push_back(base);
  } catch (const Error&) {
    // No mpi.conf: the client dirs are under /tmp, which is bound anyway.
  }
  return dirs;
}

std::string pmix_client_dir_base(std::string_view mpi_conf) {
  for (const auto& raw : split(mpi_conf, '\n')) {
    std::string_view line = raw;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key(line.substr(0, eq));
    std::erase_if(key, [](char c) { return c == ' ' || c == '\t'; });
    if (key != "PMIxCliTmpDirBase") continue;
    std::string value(line.substr(eq + 1));
    std::erase_if(value, [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
    if (!value.empty() && value.front() == '/') return absolute_path(value, "/");
  }
  return {};
}

}  // namespace hl::wireup
