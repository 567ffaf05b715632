#pragma once
// What the node step tells its holder: the image rank 0 read, the mounts, the
// rendezvous name and the timeouts. JSON over the control socket.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "image/image_metadata.hpp"
#include "image/mount_plan.hpp"

namespace hl::wireup {

struct NodeSpec;

struct HolderConfig {
  image::ImageMetadata image;
  std::vector<image::MountSpec> mounts;
  std::string socket_name;
  int join_timeout_s = 120;
  std::string staging_parent = "/tmp";
  bool verbose = false;
  std::string program;
  std::string workdir;
  std::string host_path;  // PATH of the node step, used when the image sets none
  std::string bind = "auto";
  std::string gpus = "all";
  int cpus_per_rank = 0;
  std::vector<std::string> library_dirs;  // appended to the ranks' LD_LIBRARY_PATH (GPU driver)
  std::vector<std::string> bin_dirs;      // appended to their PATH (nvidia-smi)
};

// What a holder on this node needs, from the front end's spec and the image
// metadata (rank 0's broadcast, or this node's own stat in companion mode).
HolderConfig make_holder_config(const NodeSpec& spec, const image::ImageMetadata& image);

void to_json(nlohmann::json& j, const HolderConfig& c);
void from_json(const nlohmann::json& j, HolderConfig& c);

}  // namespace hl::wireup
