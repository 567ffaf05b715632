#include <unistd.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/private_dir.hpp"
#include "common/self_path.hpp"
#include "common/strings.hpp"
#include "launcher/run_options.hpp"
#include "wireup/slurm_conf.hpp"

namespace hl::launcher {
namespace {

int cpu_count() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

// Whether slurm.conf's TaskPlugin binds tasks (anything but task/none).
bool slurm_binds_tasks(const EnvList& env) {
  if (env_value(env, "SLURM_JOB_ID").empty()) return true;
  std::string conf = env_value(env, "SLURM_CONF");
  try {
    auto plugin = wireup::slurm_conf_value(read_file(conf.empty() ? "/etc/slurm/slurm.conf" : conf), "TaskPlugin");
    if (plugin) return plugin->find("task/none") == std::string::npos;
  } catch (const Error&) {
    // Unreadable (configless clusters): assume it binds and pass --cpu-bind=none.
  }
  return true;
}

}  // namespace

LaunchContext this_context() {
  auto env = environment_of_this_process();
  bool binds = slurm_binds_tasks(env);
  LaunchContext c;
  c.runtime_dir = open_runtime_dir(env).path();
  c.env = std::move(env);
  c.cwd = current_directory();
  c.uid = ::getuid();
  c.self = self_path();
  c.nonce = random_hex();
  c.host = host_name();
  c.local_cpus = cpu_count();
  c.slurm_binds_tasks = binds;
  return c;
}

}  // namespace hl::launcher
