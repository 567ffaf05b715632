#include "wireup/holder_config.hpp"

#include <cstdlib>

#include "wireup/node_spec.hpp"

namespace hl::wireup {

HolderConfig make_holder_config(const NodeSpec& spec, const image::ImageMetadata& image) {
  HolderConfig config;
  config.image = image;
  image::MountInputs inputs = spec.mounts;
  inputs.session_dirs = node_session_dirs();
  config.mounts = image::plan_mounts(inputs);
  config.socket_name = spec.socket_name;
  config.join_timeout_s = spec.join_timeout_s;
  config.staging_parent = spec.staging_parent;
  config.verbose = spec.verbose;
  config.program = spec.program;
  config.workdir = spec.mounts.workdir;
  const char* path = std::getenv("PATH");
  config.host_path = path != nullptr ? path : "/usr/bin:/bin";
  return config;
}

void to_json(nlohmann::json& j, const HolderConfig& c) {
  j = {{"image", c.image},
       {"mounts", c.mounts},
       {"socket_name", c.socket_name},
       {"join_timeout_s", c.join_timeout_s},
       {"staging_parent", c.staging_parent},
       {"verbose", c.verbose},
       {"program", c.program},
       {"workdir", c.workdir},
       {"host_path", c.host_path}};
}

void from_json(const nlohmann::json& j, HolderConfig& c) {
  c.image = j.at("image").get<image::ImageMetadata>();
  c.mounts = j.at("mounts").get<std::vector<image::MountSpec>>();
  c.socket_name = j.at("socket_name").get<std::string>();
  c.join_timeout_s = j.at("join_timeout_s").get<int>();
  c.staging_parent = j.at("staging_parent").get<std::string>();
  c.verbose = j.at("verbose").get<bool>();
  c.program = j.at("program").get<std::string>();
  c.workdir = j.at("workdir").get<std::string>();
  c.host_path = j.at("host_path").get<std::string>();
}

}  // namespace hl::wireup
