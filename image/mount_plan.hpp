#pragma once
// The container's mounts as data: CLI flags and defaults become a list of
// MountSpec that --dry-run prints and one executor (rootfs.cpp) carries out.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace hl::image {

struct MountSpec {
  std::string source;  // host path
  std::string target;  // path inside the container
  bool read_only = false;
  bool recursive = true;
  bool optional = false;  // skip when the source does not exist on the node
  std::string origin;     // why it is there: "default", "--mount", "session dir", ...
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MountSpec, source, target, read_only, recursive, optional, origin)

struct MountInputs {
  std::vector<std::string> user_mounts;   // --mount SRC:DST[:ro|rw]
  std::string cwd;                        // resolves relative SRC of --mount
  std::string home;                       // $HOME, bound at the same path
  std::string workdir;                    // bound so the ranks can chdir there
  std::string tmpdir;                     // $TMPDIR when it is not /tmp
};

// Parses one --mount value. Throws hl::Error naming the value and the fix.
MountSpec parse_mount_option(std::string_view text, std::string_view cwd);

// The front end's plan, made once per launch: defaults, then the user's
// mounts; identity binds that an earlier identity bind already covers are
// dropped; parents mount first.
std::vector<MountSpec> plan_mounts(const MountInputs& in);

// What only a node knows, added to the front end's plan under the same
// rules: its PMIx / Slurm / Open MPI session dirs (identity binds, dropped
// when covered), its devices. A mount of the plan at the same target wins.
std::vector<MountSpec> add_node_mounts(std::vector<MountSpec> plan, const std::vector<MountSpec>& node);

// An identity bind (same path inside) that is skipped where the path is missing.
MountSpec identity_mount(const std::string& path, std::string origin);

}  // namespace hl::image
