#pragma once
// What `hpclaunch doctor` found on this node, as plain data. The probes fill
// it (host_probes.cpp in hpclaunch, node_probes.cpp in hpclaunch-node) and
// checks.cpp judges it: apart, so that every verdict and every fix is
// unit-tested on made-up facts, without the kernel refusing anything.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace hl::doctor {

// One probe: it worked (detail: what it saw), or the error a launch would
// have met at that step (the same message and hint hpclaunch prints).
struct Outcome {
  bool ok = false;
  std::string detail;
  std::string hint;
};
Outcome success(std::string detail = {});
Outcome failure(const Error& e);
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Outcome, ok, detail, hint)

// The probes that unshare, mount or open /dev/fuse. hpclaunch-node runs them
// (`hpclaunch-node doctor-probe`), each in a forked child, because it is the
// binary that does these things in a launch: an AppArmor profile that allows
// user namespaces (Ubuntu 24.04) names that binary, not hpclaunch.
struct NodeProbes {
  Outcome user_namespace;              // unshare(USER|NS), uid/gid mapped to themselves, a tmpfs mounted
  Outcome openat2;                     // RESOLVE_IN_ROOT: image paths resolved inside the image
  Outcome mount_setattr;               // a read-only bind, in a user namespace
  Outcome pidfd;                       // pidfd_open + pidfd_send_signal: the holder watches its ranks
  Outcome overlay;                     // overlayfs with userxattr, in a user namespace
  Outcome fuse_device;                 // open("/dev/fuse")
  Outcome fuse_mount;                  // a FUSE mount, in a user namespace
  std::string pmix_version;            // PMIx_Get_version() of the library hpclaunch-node loads
  std::optional<Outcome> image_mount;  // --image: the container built once
};
void to_json(nlohmann::json& j, const NodeProbes& p);
void from_json(const nlohmann::json& j, NodeProbes& p);

// A program run to its end (or its timeout); path "" when not on PATH.
struct ToolRun {
  std::string path;
  int exit_code = -1;  // -1: not run
  bool timed_out = false;
  std::string output;  // stdout and stderr
};

struct DirFacts {
  std::string path;
  std::string error;  // why it could not be looked at (stat), "" when it could
  bool is_dir = false;
  bool writable = false;  // access(W_OK | X_OK) for this user
  bool world_writable = false;
  bool sticky = false;
  std::uint64_t free_bytes = 0;
};

// A binary of ours next to hpclaunch, and whether the dynamic loader finds
// every library it needs (LD_TRACE_LOADED_OBJECTS: nothing of it runs).
struct BinaryFacts {
  std::string name;
  std::string path;
  bool found = false;  // exists and is executable
  std::vector<std::string> missing_libraries;
};

struct HostFacts {
  std::string kernel_release;  // uname -r
  // sysctls; nullopt where this kernel has none of that name.
  std::optional<long> max_user_namespaces;        // user.max_user_namespaces
  std::optional<long> unprivileged_userns_clone;  // kernel.unprivileged_userns_clone (Debian, Ubuntu)
  std::optional<long> apparmor_restrict_userns;   // kernel.apparmor_restrict_unprivileged_userns (Ubuntu)
  std::optional<bool> selinux_enforcing;          // nullopt: no SELinux
  std::optional<bool> chrooted;                   // "/" is not init's root; nullopt: cannot tell
  Outcome runtime_dir;                            // detail: its path
  DirFacts tmp_dir;                               // ${TMPDIR:-/tmp}
  std::vector<BinaryFacts> binaries;              // hpclaunch-node, hpclaunch-join, hpclaunch-import
  bool in_allocation = false;                     // SLURM_JOB_ID is set
  ToolRun srun_version;                           // srun --version
  ToolRun srun_mpi_list;                          // srun --mpi=list
  ToolRun mpirun_version;                         // mpirun --version
  std::optional<NodeProbes> node;                 // nullopt: hpclaunch-node gave no report...
  std::string node_error;                         // ...and this is why
  std::optional<Outcome> image_open;              // --image: opened, superblock and size checked
};

}  // namespace hl::doctor
