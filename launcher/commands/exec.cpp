// hpclaunch exec: companion mode (`srun -n N hpclaunch exec ...`), run as
// every task. This binary stays light (no squashfuse, FUSE, hwloc or MPI):
// srun execs it once per task.
#include "common/log.hpp"
#include "launcher/commands/commands.hpp"
#include "launcher/plan.hpp"
#include "launcher/run_cli.hpp"
#include "wireup/companion.hpp"

namespace hl::launcher {

int exec_command(int argc, char** argv) {
  auto options = parse_exec_options(argc, argv);
  if (!options) return 0;
  log::set_verbose(options->verbose);
  wireup::run_exec(make_launch_spec(*options, this_context()), options->command);
}

}  // namespace hl::launcher
