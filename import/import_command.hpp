#pragma once
// `hpclaunch import docker://IMAGE [-o FILE.sqsh]`: the CLI of the docker://
// importer (options, defaults from the environment, output and errors).
#include <optional>
#include <string>

namespace hl::import {

struct ImportOptions {
  std::string uri;
  std::string output;  // empty: default_output_name() in the current directory
  std::string arch;    // empty: this machine's
  std::string cache_dir;
  std::string credentials;  // empty: the default path (missing file = no credentials)
  bool insecure = false;
  bool json = false;
  bool force = false;
  int parallel = 4;
  int timeout_s = 30;
};

// nullopt after --help (printed). Throws hl::Error on bad arguments.
std::optional<ImportOptions> parse_import_options(int argc, char** argv);

// argv[0] is "import"; returns the exit code. Errors are thrown as hl::Error
// for main() to print as one line.
int run_import_command(int argc, char** argv);

}  // namespace hl::import
