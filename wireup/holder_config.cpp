#include "wireup/holder_config.hpp"

#include <cstdlib>

#include "devices/binding_plan.hpp"
#include "devices/gpu_devices.hpp"
#include "wireup/node_spec.hpp"

namespace hl::wireup {

namespace {

// This node's GPUs and HCAs, when there are any and they are selected.
void add_device_binds(HolderConfig& config) {
  devices::DeviceRoots roots;
  auto gpus = devices::parse_gpu_selection(config.gpus);
  bool any_gpu = gpus != devices::GpuSelection::none && !devices::list_nvidia_device_nodes(roots.dev).empty();
  auto host = devices::discover_host_devices(roots, any_gpu ? devices::host_ldconfig_cache() : "", config.host_path);
  auto binds = devices::plan_device_binds(host, roots, gpus, true);
  for (const auto& b : binds) {
    config.mounts.push_back(image::MountSpec{b.source, b.target, b.read_only, true, false, "device"});
  }
  if (!devices::with_driver_dir("", devices::kContainerDriverLibDir, binds).empty()) {
    config.library_dirs.emplace_back(devices::kContainerDriverLibDir);
  }
  if (!devices::with_driver_dir("", devices::kContainerDriverBinDir, binds).empty()) {
    config.bin_dirs.emplace_back(devices::kContainerDriverBinDir);
  }
}

}  // namespace

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
  config.bind = spec.bind;
  config.gpus = spec.gpus;
  config.cpus_per_rank = spec.cpus_per_rank;
  add_device_binds(config);
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
       {"host_path", c.host_path},
       {"bind", c.bind},
       {"gpus", c.gpus},
       {"cpus_per_rank", c.cpus_per_rank},
       {"library_dirs", c.library_dirs},
       {"bin_dirs", c.bin_dirs}};
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
  c.bind = j.at("bind").get<std::string>();
  c.gpus = j.at("gpus").get<std::string>();
  c.cpus_per_rank = j.at("cpus_per_rank").get<int>();
  c.library_dirs = j.at("library_dirs").get<std::vector<std::string>>();
  c.bin_dirs = j.at("bin_dirs").get<std::vector<std::string>>();
}

}  // namespace hl::wireup
