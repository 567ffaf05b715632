#pragma once
// The site and user configuration (config/) applied to a command line:
// hpclaunch.conf values become the defaults of the long options of
// `hpclaunch run` and `hpclaunch exec` (the command line wins, unless the
// site fixed the value), the rest becomes the launch's SiteInputs.
#include <CLI/CLI.hpp>

#include "config/config.hpp"
#include "launcher/run_options.hpp"

namespace hl::launcher {

// The keys hpclaunch.conf may set: the app's long options (not --help).
config::OptionTable option_table(const CLI::App& app);

// Reads and merges both configuration directories (keys checked against
// `known`), printing the warnings of user entries a fixed one overrode.
config::SiteConfig load_site_config(const config::OptionTable& known, const EnvList& env);

// After app.parse(): every configured option of `app` the command line did not give
// gets the configuration's value (repeatable ones: the configuration's
// first, then the command line's). Throws hl::Error when the command line
// gives an option the site fixed.
void apply_config_options(CLI::App& app, const config::SiteConfig& config);

// environ.d, mounts.d and hooks.d as the plan takes them.
SiteInputs site_inputs(const config::SiteConfig& config);

}  // namespace hl::launcher
