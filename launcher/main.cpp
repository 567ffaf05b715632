// hpclaunch: the command table. User commands (run, version) and the
// internal ones each launch step runs (__node, __holder), which are hidden
// from --help; each rank runs hpclaunch-join, a binary of its own. Errors
// are caught here, once, and printed as one line.
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/main_guard.hpp"
#include "common/log.hpp"
#include "common/sibling_exec.hpp"
#include "common/strings.hpp"
#include "devices/topology_command.hpp"
#include "launcher/cli.hpp"
#include "launcher/frontend.hpp"
#include "wireup/companion.hpp"
#include "wireup/holder.hpp"
#include "wireup/join.hpp"
#include "wireup/join_protocol.hpp"

#ifndef HPCLAUNCH_VERSION
#define HPCLAUNCH_VERSION "unknown"
#endif

using namespace hl;

namespace {

std::string self_path() {
  char path[PATH_MAX] = {};
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw_errno("readlink", "/proc/self/exe");
  return std::string(path, static_cast<std::size_t>(n));
}

int cpu_count() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

// Whether slurm.conf's TaskPlugin binds tasks (anything but task/none).
bool slurm_binds_tasks(const image::EnvList& env) {
  if (image::env_value(env, "SLURM_JOB_ID").empty()) return true;
  std::string conf = image::env_value(env, "SLURM_CONF");
  try {
    for (const auto& line : split(read_file(conf.empty() ? "/etc/slurm/slurm.conf" : conf), '\n')) {
      if (line.starts_with("TaskPlugin=")) return line.find("task/none") == std::string::npos;
    }
  } catch (const Error&) {
    // Unreadable (configless clusters): assume it binds and pass --cpu-bind=none.
  }
  return true;
}

launcher::LaunchContext this_context() {
  auto env = wireup::environment_of_this_process();
  bool binds = slurm_binds_tasks(env);
  return launcher::LaunchContext{std::move(env), current_directory(), ::getuid(), self_path(),
                                 random_hex(),   cpu_count(),         binds};
}

int run_command(int argc, char** argv) {
  auto options = launcher::parse_run_options(argc, argv);
  if (!options) return 0;
  log::set_verbose(options->verbose);
  launcher::LaunchPlan plan = launcher::make_plan(*options, this_context());
  if (options->dry_run) {
    fmt::print("{}", options->json ? launcher::plan_to_json(plan).dump(2) + "\n" : launcher::plan_to_text(plan));
    return 0;
  }
  auto start = std::chrono::steady_clock::now();
  int code = launcher::run_plan(plan, options->verbose);
  if (options->json) {
    std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
    fmt::print(stderr, "{}\n",
               nlohmann::json{{"exit_code", code}, {"ntasks", plan.ntasks}, {"wall_seconds", wall.count()}}.dump());
  }
  return code;
}

// `hpclaunch exec ...`: companion mode, run as each task by srun or mpirun.
int exec_command(int argc, char** argv) {
  auto options = launcher::parse_run_options(argc, argv);
  if (!options) return 0;
  log::set_verbose(options->verbose);
  auto context = this_context();
  wireup::run_exec(launcher::make_node_spec(*options, context), launcher::make_join_options(*options, context));
}

// __node runs the MPI node step; it lives in its own binary so that this one
// never loads libmpi (and hpclaunch-join is never a PMIx client).
int node_command(char** argv) {
  std::string node = dirname_of(self_path()) + "/hpclaunch-node";
  ::execv(node.c_str(), argv);
  throw_errno("cannot run the node step", node);
}

int dispatch(int argc, char** argv) {
  std::string_view command = argc > 1 ? argv[1] : "";
  if (command == "__holder") return wireup::run_holder();
  if (command == "__node") return node_command(argv);
  if (command == "version" || command == "--version") {
    fmt::print("hpclaunch {}\n", HPCLAUNCH_VERSION);
    return 0;
  }
  if (command == "run") return run_command(argc - 1, argv + 1);
  if (command == "exec") return exec_command(argc - 1, argv + 1);
  if (command == "import") exec_sibling("hpclaunch-import", argv + 1);  // curl, OpenSSL, libarchive: not here
  if (command == "topology") {
    argv[1] = const_cast<char*>("hpclaunch topology");
    return devices::run_topology_command(argc - 1, argv + 1);
  }
  return run_command(argc, argv);
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return dispatch(argc, argv); });
}
