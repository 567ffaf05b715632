#include "launcher/site_config.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/log.hpp"

namespace hl::launcher {
namespace {

CLI::Option* long_option(CLI::App& app, const std::string& key) {
  for (CLI::Option* opt : app.get_options()) {
    for (const auto& name : opt->get_lnames()) {
      if (name == key) return opt;
    }
  }
  return nullptr;
}

// Gives `opt` exactly `values`, as if parsed (validators and callbacks run).
void set_results(CLI::Option* opt, const std::vector<std::string>& values, const std::string& origin) {
  opt->clear();
  for (const auto& v : values) opt->add_result(v);
  try {
    opt->run_callback();
  } catch (const CLI::ParseError& e) {
    throw Error(fmt::format("`{}`: {}", origin, e.what()), "fix the value in the configuration file");
  } catch (const Error& e) {
    rethrow_with_context(e, fmt::format("`{}`", origin));
  }
}

}  // namespace

config::OptionTable option_table(const CLI::App& app) {
  config::OptionTable table;
  for (const CLI::Option* opt : app.get_options()) {
    for (const auto& name : opt->get_lnames()) {
      if (name == "help") continue;
      table[name] = config::OptionInfo{opt->get_expected_max() == 0, opt->get_items_expected_max() > 1};
    }
  }
  return table;
}

config::SiteConfig load_site_config(const config::OptionTable& known, const EnvList& env) {
  config::SiteConfig config = config::merge_config(config::read_config_sources(env), known, env);
  for (const auto& w : config.warnings) log::warn("{}", w);
  return config;
}

void apply_config_options(CLI::App& app, const config::SiteConfig& config) {
  std::vector<std::string> done;
  for (const auto& setting : config.options) {
    if (std::find(done.begin(), done.end(), setting.key) != done.end()) continue;
    done.push_back(setting.key);
    CLI::Option* opt = long_option(app, setting.key);
    if (opt == nullptr) continue;  // a run option exec does not have (merge_config checked the key)
    bool given = opt->count() > 0;
    if (opt->get_items_expected_max() > 1) {
      std::vector<std::string> values;
      for (const auto& s : config.options) {
        if (s.key == setting.key) values.push_back(s.value);
      }
      if (given) {
        auto user = opt->results();
        values.insert(values.end(), user.begin(), user.end());
      }
      set_results(opt, values, setting.origin);
      continue;
    }
    const config::OptionSetting& last = *config.option(setting.key);
    if (given && last.fixed) {
      throw Error(
          fmt::format("--{} is fixed by the site configuration ({}) to `{}`", last.key, last.origin, last.value),
          fmt::format("leave --{} out", last.key));
    }
    if (!given) set_results(opt, {last.value}, last.origin);
  }
}

SiteInputs site_inputs(const config::SiteConfig& config) {
  SiteInputs in;
  for (const auto& e : config.env) {
    in.env.emplace_back(e.key, e.value);
    if (e.fixed) in.fixed_env.emplace_back(e.key, e.origin);
  }
  in.mounts = config.mounts;
  for (std::size_t i = 0; i < config.mounts.size(); ++i) {
    if (config.mount_fixed[i]) in.fixed_mounts.emplace_back(config.mounts[i].target, config.mounts[i].origin);
  }
  for (const auto& h : config.hooks) in.hooks.push_back(image::HookSpec{h.name, h.path, h.origin});
  return in;
}

}  // namespace hl::launcher
