#pragma once
// `hpclaunch topology`: this node's (or a synthetic/XML) topology and the
// binding plan hpclaunch would apply to N local ranks on it.
#include <optional>
#include <string>

#include "devices/binding_plan.hpp"

namespace hl::devices {

struct TopologyCommandOptions {
  int ranks = 0;          // 0 = one per allowed core
  int cpus_per_rank = 0;  // -c
  std::string bind = "auto";
  std::string gpus = "all";
  std::string allowed;  // cpu list; empty = this process's affinity (or all PUs)
  std::string synthetic;
  std::string xml;
  bool json = false;
};

// nullopt after --help (printed). Throws hl::Error on bad arguments.
std::optional<TopologyCommandOptions> parse_topology_options(int argc, char** argv);

// The report as text or JSON; loads the topology the options name.
std::string topology_report(const TopologyCommandOptions& options);

// argv[0] is the command's name for --help ("hpclaunch topology"); returns
// the exit code. Errors are thrown as hl::Error for main() to print.
int run_topology_command(int argc, char** argv);

}  // namespace hl::devices
