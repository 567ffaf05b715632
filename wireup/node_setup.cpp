#include "wireup/node_setup.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/strings.hpp"
#include "devices/device_nodes.hpp"
#include "devices/gpu_devices.hpp"
#include "wireup/slurm_conf.hpp"

namespace hl::wireup {
namespace {

image::UserEntry current_user() {
  image::UserEntry u;
  u.uid = ::getuid();
  u.gid = ::getgid();
  u.name = fmt::format("user{}", u.uid);
  u.group_name = fmt::format("group{}", u.gid);
  u.home.assign(1, '/');  // (assign("/"): a false -Wrestrict of g++ 12 once inlined)
  if (const passwd* pw = ::getpwuid(u.uid)) {
    u.name = pw->pw_name;
    u.gecos = pw->pw_gecos != nullptr ? pw->pw_gecos : "";
    u.home = pw->pw_dir;
  }
  if (const group* gr = ::getgrgid(u.gid)) u.group_name = gr->gr_name;
  return u;
}

// This node's GPUs and HCAs, when there are any and they are selected.
void add_devices(NodeFacts& facts, devices::GpuSelection gpus) {
  devices::DeviceRoots roots;
  bool any_gpu = gpus != devices::GpuSelection::none && !devices::list_nvidia_device_nodes(roots.dev).empty();
  auto host =
      devices::discover_host_devices(roots, any_gpu ? devices::host_ldconfig_cache() : "", facts.setup.host_path);
  auto binds = devices::plan_device_binds(host, roots, gpus, true);
  for (const auto& b : binds) {
    facts.setup.mounts.push_back(image::bind_mount(b.source, b.target, b.read_only, true, false, "device"));
  }
  if (!devices::with_driver_dir("", devices::kContainerDriverLibDir, binds).empty()) {
    facts.library_dirs.emplace_back(devices::kContainerDriverLibDir);
  }
  if (!devices::with_driver_dir("", devices::kContainerDriverBinDir, binds).empty()) {
    facts.bin_dirs.emplace_back(devices::kContainerDriverBinDir);
  }
}

}  // namespace

NodeFacts discover_node_facts(const LaunchSpec& launch, const std::string& launch_dir) {
  EnvList env = environment_of_this_process();
  NodeFacts facts;
  facts.setup.mounts.push_back(image::identity_mount(launch_dir, "runtime dir"));
  for (const auto& dir : node_session_dirs(env))
    facts.setup.mounts.push_back(image::identity_mount(dir, "session dir"));
  facts.setup.device_nodes = devices::minimal_device_nodes();
  facts.setup.user = current_user();
  std::string path = env_value(env, "PATH");
  facts.setup.host_path = path.empty() ? "/usr/bin:/bin" : path;
  add_devices(facts, launch.join.binding.gpus);
  return facts;
}

std::vector<std::string> session_dirs_from_environment(const EnvList& env) {
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

std::vector<std::string> node_session_dirs(const EnvList& env) {
  auto dirs = session_dirs_from_environment(env);
  if (env_value(env, "SLURM_JOB_ID").empty()) return dirs;
  std::string conf = env_value(env, "SLURM_CONF");
  if (conf.empty()) conf = "/etc/slurm/slurm.conf";
  if (dirs.empty()) {
    // Not a task of a PMIx step (the batch script's own holder, one node).
    std::string text;
    try {
      text = read_file(conf);
    } catch (const Error&) {
      // Configless: Slurm's default spool dir.
    }
    dirs.push_back(slurmd_spool_dir(text, env_value(env, "SLURMD_NODENAME"), host_name()));
  }
  std::string mpi_conf = fmt::format("{}/mpi.conf", dirname_of(conf));
  try {
    std::string base = pmix_client_dir_base(read_file(mpi_conf));
    if (!base.empty()) dirs.push_back(base);
  } catch (const Error&) {
    // No mpi.conf: the client dirs are under /tmp, which is bound anyway.
  }
  return dirs;
}

std::string slurmd_spool_dir(std::string_view slurm_conf, std::string_view node, std::string_view host) {
  auto configured = slurm_conf_value(slurm_conf, "SlurmdSpoolDir");
  std::string dir = configured && configured->starts_with('/') ? *configured : "/var/spool/slurmd";
  std::string out;
  for (std::size_t i = 0; i < dir.size(); ++i) {
    if (dir[i] == '%' && i + 1 < dir.size() && (dir[i + 1] == 'n' || dir[i + 1] == 'h')) {
      out += dir[++i] == 'n' ? std::string(node.empty() ? host : node) : std::string(host);
    } else {
      out += dir[i];
    }
  }
  return absolute_path(out, "/");
}

std::string pmix_client_dir_base(std::string_view mpi_conf) {
  auto value = slurm_conf_value(mpi_conf, "PMIxCliTmpDirBase");
  return value && value->starts_with('/') ? absolute_path(*value, "/") : std::string();
}

}  // namespace hl::wireup
