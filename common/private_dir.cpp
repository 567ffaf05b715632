#include "common/private_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/strings.hpp"

namespace hl {
namespace {

std::string user_name(uid_t uid) {
  const passwd* pw = ::getpwuid(uid);
  return pw != nullptr ? fmt::format("uid {} ({})", uid, pw->pw_name) : fmt::format("uid {}", uid);
}

// mkdirat(0700) unless it exists, then open it without following a symlink
// and check on the fd that it is a directory of ours; a mode wider than 0700
// on our own directory is narrowed.
UniqueFd create_or_verify(int parent_fd, const std::string& name, const std::string& path, bool create) {
  if (create && ::mkdirat(parent_fd, name.c_str(), 0700) != 0 && errno != EEXIST) {
    throw_errno("create private directory", path);
  }
  UniqueFd fd(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    if (!create && err == ENOENT) return {};
    if (err == ELOOP || err == ENOTDIR) {
      throw Error(fmt::format("private directory `{}` is a symlink or not a directory", path),
                  "someone else may have created it: remove it, or set HPCLAUNCH_RUNTIME_DIR to a private "
                  "directory; run `hpclaunch doctor`");
    }
    throw system_error(err, "open private directory", path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("stat", path);
  if (st.st_uid != ::getuid()) {
    throw Error(fmt::format("private directory `{}` belongs to {}, not to you ({})", path, user_name(st.st_uid),
                            user_name(::getuid())),
                "another user created it first: ask them or an admin to remove it, or set HPCLAUNCH_RUNTIME_DIR to a "
                "directory only you can write; run `hpclaunch doctor`");
  }
  if ((st.st_mode & 077) != 0 && ::fchmod(fd.get(), 0700) != 0) throw_errno("chmod 0700", path);
  return fd;
}

bool is_private_dir_of_ours(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::getuid() && (st.st_mode & 077) == 0;
}

constexpr const char* kOwnerLock = "owner.lock";
// A holder's teardown (FUSE unmount, its directory) takes milliseconds; 10 s
// covers a loaded node.
constexpr std::chrono::milliseconds kPreviousOwnerPatience{10000};

// Subdirectory names of `dir_fd` (not following symlinks); none if unreadable.
std::vector<std::string> subdirectories(int dir_fd) {
  std::vector<std::string> names;
  try {
    for (auto& e : read_directory(dir_fd, "runtime dir")) {
      if (e.is_directory) names.push_back(std::move(e.name));
    }
  } catch (const Error&) {
  }
  return names;
}

// A subdirectory whose owner lock we can take: its owner is gone.
bool owner_is_gone(int dir_fd, const std::string& name) {
  UniqueFd lock(::openat(dir_fd, (name + "/" + kOwnerLock).c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  return lock && ::flock(lock.get(), LOCK_EX | LOCK_NB) == 0;
}

// Before we take <group>/<name>: a live owner of the same name is a process
// of this launch that is still going away (a node step killed under its
// holder and started again: the old holder's cleanup, still to come, would
// remove the new one's socket and mounts). Wait for it; a dead owner's
// leftovers are removed.
void wait_for_previous_owner(const PrivateDir& group, const std::string& name, std::chrono::milliseconds patience) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  const std::string lock_path = name + "/" + kOwnerLock;
  while (true) {
    UniqueFd lock(::openat(group.fd(), lock_path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    if (!lock) return;  // no owner (a fresh name, or one removed to its last file)
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) == 0) {
      group.remove(name);
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(fmt::format("`{}/{}` is still held by another process of this launch after {} s", group.path(), name,
                              patience.count() / 1000),
                  "an earlier start of this launch's node step is still ending: launch again once it has gone");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

PrivateDir PrivateDir::open(const std::string& path) {
  auto slash = path.rfind('/');
  if (path.empty() || path.front() != '/' || slash + 1 >= path.size()) {
    throw Error(fmt::format("private directory `{}` must be an absolute path", path));
  }
  std::string parent = slash == 0 ? "/" : path.substr(0, slash);
  UniqueFd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent_fd) throw_errno("open", parent);
  return PrivateDir(path, create_or_verify(parent_fd.get(), path.substr(slash + 1), path, true));
}

PrivateDir PrivateDir::subdir(const std::string& name) const {
  std::string path = path_ + "/" + name;
  return PrivateDir(path, create_or_verify(fd(), name, path, true));
}

PrivateDir PrivateDir::existing_subdir(const std::string& name) const {
  std::string path = path_ + "/" + name;
  return PrivateDir(path, create_or_verify(fd(), name, path, false));
}

std::pair<PrivateDir, PrivateDir> PrivateDir::group_member(const std::string& group, const std::string& name) const {
  for (int attempt = 0;; ++attempt) {
    PrivateDir group_dir = subdir(group);
    try {
      PrivateDir member = group_dir.subdir(name);
      return {std::move(group_dir), std::move(member)};
    } catch (const Error&) {
      struct stat st {};
      bool removed = ::fstat(group_dir.fd(), &st) == 0 && st.st_nlink == 0;
      if (!removed || attempt == 99) throw;
    }
  }
}

bool PrivateDir::remove(const std::string& name) const { return remove_tree_at(fd(), name); }

UniqueFd PrivateDir::claim() const {
  // Locked under a temporary name, then renamed: a sweeper never sees an
  // unlocked owner.lock of a live owner.
  std::string temp = fmt::format("{}.{}", kOwnerLock, random_hex(4));
  UniqueFd lock(::openat(fd(), temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!lock) throw_errno("create", path_ + "/" + temp);
  if (::flock(lock.get(), LOCK_EX) != 0 || ::renameat(fd(), temp.c_str(), fd(), kOwnerLock) != 0) {
    int err = errno;
    ::unlinkat(fd(), temp.c_str(), 0);
    throw system_error(err, "claim", path_);
  }
  return lock;
}

UniqueFd PrivateDir::share_claim() const {
  UniqueFd lock(::openat(fd(), kOwnerLock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!lock) throw_errno("create", path_ + "/" + kOwnerLock);
  if (::flock(lock.get(), LOCK_SH) != 0) throw_errno("claim", path_);
  return lock;
}

void PrivateDir::sweep_stale(const std::string& key) const {
  PrivateDir group;
  try {
    group = existing_subdir(key);
  } catch (const Error&) {
    return;  // not ours to judge
  }
  if (!group.valid()) return;
  for (const auto& name : subdirectories(group.fd())) {
    if (owner_is_gone(group.fd(), name)) group.remove(name);
  }
  if (owner_is_gone(fd(), key)) {
    remove(key);  // a shared claim (a named container's) that nobody keeps
  } else {
    ::unlinkat(fd(), key.c_str(), AT_REMOVEDIR);  // fails while others still use it
  }
}

void PrivateDir::sweep_all_stale(const std::string& prefix) const {
  for (const auto& name : subdirectories(fd())) {
    if (name.starts_with(prefix)) sweep_stale(name);
  }
}

std::string PrivateDir::fd_path(const std::string& name) const {
  return fmt::format("/proc/self/fd/{}/{}", fd(), name);
}

OwnedDir OwnedDir::create(const PrivateDir& runtime, const std::string& group, const std::string& name) {
  runtime.sweep_all_stale("l-");
  runtime.sweep_all_stale("x-");
  runtime.sweep_all_stale("n-");
  OwnedDir owned;
  // The previous owner's cleanup also removes <group> when it was its last
  // member: group_member opens it again.
  wait_for_previous_owner(runtime.subdir(group), name, kPreviousOwnerPatience);
  std::tie(owned.group_, owned.dir_) = runtime.group_member(group, name);
  owned.name_ = name;
  owned.owner_lock_ = owned.dir_.claim();
  return owned;
}

OwnedDir& OwnedDir::operator=(OwnedDir&& other) noexcept {
  if (this != &other) {
    remove();
    group_ = std::move(other.group_);
    dir_ = std::move(other.dir_);
    name_ = std::move(other.name_);
    owner_lock_ = std::move(other.owner_lock_);
  }
  return *this;
}

OwnedDir::~OwnedDir() { remove(); }

void OwnedDir::remove() {
  if (!dir_.valid()) return;
  // owner.lock goes last: killed half-way, we leave a directory whose free
  // lock lets the next sweep finish the job.
  try {
    for (const auto& entry : read_directory(dir_.fd(), dir_.path())) {
      if (entry.name != kOwnerLock) dir_.remove(entry.name);
    }
  } catch (const Error&) {
  }
  dir_ = PrivateDir();
  group_.remove(name_);
  owner_lock_.reset();
  // The group's own directory goes with its last member (rmdir fails before).
  std::string group_name = group_.path().substr(group_.path().rfind('/') + 1);
  std::string runtime = dirname_of(group_.path());
  UniqueFd runtime_fd(::open(runtime.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (runtime_fd) ::unlinkat(runtime_fd.get(), group_name.c_str(), AT_REMOVEDIR);
  group_ = PrivateDir();
}

std::string runtime_dir_path(const EnvList& env, uid_t uid, bool xdg_is_private) {
  std::string chosen = env_value(env, "HPCLAUNCH_RUNTIME_DIR");
  if (!chosen.empty()) return chosen;
  std::string xdg = env_value(env, "XDG_RUNTIME_DIR");
  if (!xdg.empty() && xdg_is_private) return xdg + "/hpclaunch";
  std::string tmp = env_value(env, "TMPDIR");
  return fmt::format("{}/hpclaunch-{}", tmp.empty() ? "/tmp" : tmp, uid);
}

PrivateDir open_runtime_dir(const EnvList& env) {
  std::string xdg = env_value(env, "XDG_RUNTIME_DIR");
  return PrivateDir::open(runtime_dir_path(env, ::getuid(), !xdg.empty() && is_private_dir_of_ours(xdg)));
}

}  // namespace hl
