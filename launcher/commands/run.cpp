// hpclaunch [run]: the front end. Plans both steps, prints the plan with
// --dry-run, or runs it and returns the app's exit status.
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "launcher/commands/commands.hpp"
#include "launcher/frontend.hpp"
#include "launcher/image_import.hpp"
#include "launcher/named_launch.hpp"
#include "launcher/plan.hpp"
#include "launcher/run_cli.hpp"

namespace hl::launcher {

int run_command(int argc, char** argv) {
  auto options = parse_run_options(argc, argv);
  if (!options) return 0;
  log::set_verbose(options->verbose);
  LaunchContext context = this_context();
  if (is_registry_reference(options->image)) {
    // Once, here: the nodes run the file (never an import per node).
    std::string path = run_cache_path(options->image, context.env);
    if (!options->dry_run) {
      if (int code = import_for_run(options->image, path, options->insecure); code != 0) return code;
    }
    options->image = path;
  }
  LaunchPlan plan = make_plan(*options, context);
  if (options->dry_run) {
    fmt::print("{}", options->json ? plan_to_json(plan).dump(2) + "\n" : plan_to_text(plan));
    return 0;
  }
  auto start = std::chrono::steady_clock::now();
  int code = plan.spec.named.name.empty() ? run_plan(plan, options->verbose) : run_named(plan, options->verbose);
  if (options->json) {
    std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
    fmt::print(stderr, "{}\n",
               nlohmann::json{{"exit_code", code}, {"ntasks", plan.ntasks}, {"wall_seconds", wall.count()}}.dump());
  }
  return code;
}

}  // namespace hl::launcher
