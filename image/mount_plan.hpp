#pragma once
// The container's mounts as data: CLI flags and defaults become a list of
// MountSpec that --dry-run prints and one executor (rootfs.cpp) carries out.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/env.hpp"

namespace hl::image {

// A bind of a host path, or a fresh tmpfs (--contain's /tmp, fstab `tmpfs`).
enum class MountKind { bind, tmpfs };
// What a missing mount target becomes (fstab `x-create=`, as enroot spells
// it): targets are always created, in the container's writable layer, never
// on the host; `automatic` takes the source's type.
enum class CreateKind { automatic, dir, file };

NLOHMANN_JSON_SERIALIZE_ENUM(MountKind, {{MountKind::bind, "bind"}, {MountKind::tmpfs, "tmpfs"}})
NLOHMANN_JSON_SERIALIZE_ENUM(CreateKind,
                             {{CreateKind::automatic, "auto"}, {CreateKind::dir, "dir"}, {CreateKind::file, "file"}})

struct MountSpec {
  std::string source;  // host path ("tmpfs" for a tmpfs)
  std::string target;  // path inside the container
  bool read_only = false;
  bool recursive = true;
  bool optional = false;  // skip when the source does not exist on the node
  std::string origin;     // why it is there: "default", "--mount", "session dir", "mounts.d/x.fstab:3", ...
  MountKind kind = MountKind::bind;
  std::string data;  // tmpfs options (size=, mode=, nr_inodes=), checked by the parser
  CreateKind create = CreateKind::automatic;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MountSpec, source, target, read_only, recursive, optional, origin, kind, data,
                                   create)

// A bind mount (a function, not an aggregate initializer: MountSpec grows).
inline MountSpec bind_mount(std::string source, std::string target, bool read_only, bool recursive, bool optional,
                            std::string origin) {
  MountSpec m;
  m.source = std::move(source);
  m.target = std::move(target);
  m.read_only = read_only;
  m.recursive = recursive;
  m.optional = optional;
  m.origin = std::move(origin);
  return m;
}

struct MountInputs {
  std::vector<std::string> user_mounts;  // --mount SRC:DST[:OPTIONS] or an fstab line
  std::string cwd;                       // resolves relative SRC of --mount
  std::string home;                      // $HOME, bound at the same path
  std::string workdir;                   // bound so the ranks can chdir there
  std::string tmpdir;                    // $TMPDIR when it is not /tmp
  EnvList env;                           // ${VAR} in fstab-style --mount values
  bool no_home = false;                  // --no-home: $HOME is not bound
  bool contain = false;                  // --contain: private tmpfs /tmp and /var/tmp
  // Site and user configuration (mounts.d), already parsed: after the
  // defaults, before --mount.
  std::vector<MountSpec> config_mounts;
};

// Parses one --mount value: SRC:DST[:OPTIONS] (OPTIONS as in fstab, comma
// separated: ro, rw, bind, rbind, nofail, x-create=dir|file|auto), or, when
// it holds a blank, one fstab line (enroot's dialect, image/fstab.hpp).
// Throws hl::Error naming the value and the fix.
MountSpec parse_mount_option(std::string_view text, std::string_view cwd, const EnvList& env = {});

// The front end's plan, made once per launch: defaults, then the
// configuration's mounts, then the user's; a later mount at a target
// replaces an earlier one; identity binds that an earlier identity bind
// already covers are dropped; parents mount first.
std::vector<MountSpec> plan_mounts(const MountInputs& in);

// What only a node knows, added to the front end's plan under the same
// rules: its PMIx / Slurm / Open MPI session dirs (identity binds, dropped
// when covered), its devices. A mount of the plan at the same target wins.
std::vector<MountSpec> add_node_mounts(std::vector<MountSpec> plan, const std::vector<MountSpec>& node);

// An identity bind (same path inside) that is skipped where the path is missing.
MountSpec identity_mount(const std::string& path, std::string origin);

// Targets a mount may not cover (/, /proc, /dev): throws naming `what`.
void check_mount_target(const std::string& target, std::string_view what);

}  // namespace hl::image
