#pragma once
// Directories only this user can enter: where hpclaunch keeps every
// per-launch name (rendezvous sockets, staging dirs, Open MPI session dirs)
// so another user can neither learn those names nor create, squat or swap
// anything under them. Created exclusively with mode 0700; an existing one
// is opened with O_NOFOLLOW and its owner and mode are checked on the fd.
#include <sys/types.h>

#include <string>
#include <utility>

#include "common/env.hpp"
#include "common/unique_fd.hpp"

namespace hl {

class PrivateDir {
 public:
  PrivateDir() = default;
  PrivateDir(PrivateDir&&) = default;
  PrivateDir& operator=(PrivateDir&&) = default;
  // Creates `path` (its last component) or opens it; throws Error naming
  // the path and the other owner when it is not ours, or a symlink.
  static PrivateDir open(const std::string& path);

  // <this>/<group>/<name>, both created as needed. Another process's cleanup
  // or sweep removes <group> when it looks empty, which can fall between our
  // creating it and creating <name> in it: then it is opened again.
  std::pair<PrivateDir, PrivateDir> group_member(const std::string& group, const std::string& name) const;
  // A private directory below this one (created or verified the same way).
  PrivateDir subdir(const std::string& name) const;
  // Only opens an existing subdirectory (verified); nullopt-like empty
  // PrivateDir when it does not exist (yet).
  PrivateDir existing_subdir(const std::string& name) const;
  // Removes the subtree `name` below this directory (common/files.hpp rules).
  bool remove(const std::string& name) const;

  // Marks this directory as owned by this process for as long as it lives:
  // `owner.lock`, flock'ed through the returned fd (keep it open; CLOEXEC).
  // sweep_stale() removes directories whose owner is gone, whatever killed it.
  UniqueFd claim() const;
  // A shared claim on this directory itself (its owner.lock, flock'ed
  // LOCK_SH): several processes may keep it (a named container's node steps
  // inherit the fd); sweep_stale() removes the directory once none does.
  UniqueFd share_claim() const;
  // Removes every subdirectory of `key/*` below this runtime dir whose owner
  // lock is free (its owner died without cleaning up), then `key` if empty —
  // or, when `key` itself carries a shared claim nobody keeps any more,
  // `key` with everything in it.
  void sweep_stale(const std::string& key) const;
  // sweep_stale() for every key starting with `prefix`.
  void sweep_all_stale(const std::string& prefix) const;

  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }
  // "/proc/self/fd/N/name": reaches `name` through our verified fd, however
  // long the path is and whatever happens to the path's components meanwhile.
  std::string fd_path(const std::string& name) const;

 private:
  PrivateDir(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

// <runtime>/<group>/<name>, owned by this process while it lives (claimed:
// a sweeper never removes it) and removed with everything in it when this
// object goes, together with <group> when nobody else uses it. Creating one
// first sweeps the stale directories of dead owners in the runtime dir.
class OwnedDir {
 public:
  OwnedDir() = default;
  static OwnedDir create(const PrivateDir& runtime, const std::string& group, const std::string& name);
  OwnedDir(OwnedDir&&) = default;
  OwnedDir& operator=(OwnedDir&& other) noexcept;
  ~OwnedDir();

  const PrivateDir& dir() const { return dir_; }
  const std::string& path() const { return dir_.path(); }
  // Removes it now (idempotent).
  void remove();

 private:
  PrivateDir group_;
  PrivateDir dir_;
  std::string name_;
  UniqueFd owner_lock_;
};

// This user's runtime dir on this node (pure rule, see README "Runtime
// directory"): $HPCLAUNCH_RUNTIME_DIR; else $XDG_RUNTIME_DIR/hpclaunch when
// `xdg_is_private` (XDG_RUNTIME_DIR exists here, is ours and 0700); else
// ${TMPDIR:-/tmp}/hpclaunch-UID.
std::string runtime_dir_path(const EnvList& env, uid_t uid, bool xdg_is_private);

// Opens (creating if needed) the runtime dir of this process's user here.
PrivateDir open_runtime_dir(const EnvList& env);

}  // namespace hl
