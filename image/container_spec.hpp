#pragma once
// What a node's container is made of. ContainerSpec is what the user asked
// for, the same on every node: planned once on the front end and carried in
// the launch spec. NodeSetup is what each node adds from what only it knows.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/env.hpp"
#include "image/etc_files.hpp"
#include "image/image_config.hpp"
#include "image/mount_plan.hpp"

namespace hl::image {

// A hook of hooks.d (config/): run on each node once the container's root is
// built, before any rank joins (wireup/hooks.cpp).
struct HookSpec {
  std::string name;  // 10-mpi.sh
  std::string path;  // on the node
  std::string origin;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(HookSpec, name, path, origin)

struct ContainerSpec {
  std::string image;              // absolute (lexical: only one node stats it)
  std::vector<MountSpec> mounts;  // defaults, configuration and --mount, planned on the front end
  // What the ranks run (the image's Entrypoint/Cmd are only known inside
  // it): the program is looked up once per node in the built container.
  CommandOptions command;
  std::string workdir;              // where the ranks start (--workdir, else the cwd)
  bool workdir_given = false;       // --workdir: wins over the image's WorkingDir
  bool skip_program_check = false;  // hpclaunch doctor: the container is only built
  bool writable = false;            // --writable: the overlay's upper layer takes writes anywhere
  bool root = false;                // --root: ranks of this launch may be uid 0 inside (the root view)
  std::vector<HookSpec> hooks;      // in the order they run
  EnvList hook_env;                 // --env values: the hooks see them too
  int hook_timeout_s = 120;         // a hook still running after this fails the launch
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ContainerSpec, image, mounts, command, workdir, workdir_given, skip_program_check,
                                   writable, root, hooks, hook_env, hook_timeout_s)

struct NodeSetup {
  std::vector<MountSpec> mounts;          // session dirs, devices: merged with add_node_mounts
  std::vector<std::string> device_nodes;  // the minimal /dev (names under /dev)
  UserEntry user;                         // gets /etc/passwd and /etc/group entries
  std::string host_path;                  // this node's PATH (where host tools such as nvidia-smi are)
  std::string staging_dir;                // private, node-local, empty: the root is assembled here
  std::uint64_t image_offset = 0;         // where the squashfs starts in the file (a SIF's partition)
};

}  // namespace hl::image
