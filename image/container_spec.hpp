#pragma once
// What a node's container is made of. ContainerSpec is what the user asked
// for, the same on every node: planned once on the front end and carried in
// the launch spec. NodeSetup is what each node adds from what only it knows.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "image/etc_files.hpp"
#include "image/mount_plan.hpp"

namespace hl::image {

struct ContainerSpec {
  std::string image;              // absolute (lexical: only one node stats it)
  std::vector<MountSpec> mounts;  // defaults and --mount, planned on the front end
  std::string program;            // looked up once per node in the built container
  std::string workdir;            // where the ranks start
  bool writable = false;          // --writable: the overlay's upper layer takes writes anywhere
  bool root = false;              // --root: ranks of this launch may be uid 0 inside (the root view)
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ContainerSpec, image, mounts, program, workdir, writable, root)

struct NodeSetup {
  std::vector<MountSpec> mounts;          // session dirs, devices: merged with add_node_mounts
  std::vector<std::string> device_nodes;  // the minimal /dev (names under /dev)
  UserEntry user;                         // gets /etc/passwd and /etc/group entries
  std::string host_path;                  // this node's PATH (where host tools such as nvidia-smi are)
  std::string staging_dir;                // private, node-local, empty: the root is assembled here
};

}  // namespace hl::image
