#pragma once
// The image config's run settings, stored inside the image at import: pure
// text transformations, unit-tested.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hl::import {

// /etc/environment for the image: the lines of `existing` (the image's own
// file, may be empty) whose variable the config does not set, then the
// config's Env as KEY=VALUE lines, quoted so that parse_environment_file()
// (image/etc_files.hpp) reads back the exact value. `image_config` is the
// OCI image config (its "config" object holds Env). Variables whose value
// holds a newline cannot be written there: they are left out and named in
// `skipped` (they are still in config.json).
std::string environment_with_config(std::string_view existing, const nlohmann::json& image_config,
                                    std::string* skipped = nullptr);

// /.hpclaunch/config.json: {Env, WorkingDir, Entrypoint, Cmd, User} from the
// image config, absent fields as empty arrays / strings.
std::string hpclaunch_config_json(const nlohmann::json& image_config);

}  // namespace hl::import
