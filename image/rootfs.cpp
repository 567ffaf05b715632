#include "image/rootfs.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/files.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "image/image_path.hpp"

namespace hl::image {
namespace {

// Resolves `path` with the container root as "/": an image symlink such as
// /home -> /var/home then lands inside the image, never on the host.
UniqueFd open_in_root(int root_fd, const std::string& path, std::uint64_t flags, std::uint64_t mode = 0,
                      std::uint64_t resolve = 0) {
  auto first = path.find_first_not_of('/');
  std::string relative = first == std::string::npos ? std::string(".") : path.substr(first);
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve;
  return UniqueFd(static_cast<int>(::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof how)));
}

// mkdir -p inside root; the last component becomes a file when !directory.
UniqueFd make_target(int root_fd, const std::string& target, bool directory) {
  std::string prefix;
  auto parts = split(target, '/');
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    std::string parent = prefix.empty() ? "/" : prefix;
    prefix.append("/").append(parts[i]);
    bool last = i + 1 == parts.size();
    UniqueFd existing = open_in_root(root_fd, prefix, O_PATH);
    if (existing) {
      if (last) return existing;
      continue;
    }
    if (errno != ENOENT) throw_errno("resolve mount target", target);
    UniqueFd parent_fd = open_in_root(root_fd, parent, O_PATH | O_DIRECTORY);
    if (!parent_fd) throw_errno("resolve mount target", parent);
    if (last && !directory) {
      UniqueFd created(::openat(parent_fd.get(), parts[i].c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
      if (!created) throw_errno("create mount target", target);
    } else if (::mkdirat(parent_fd.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
      throw_errno("create mount target", prefix);
    }
  }
  UniqueFd fd = open_in_root(root_fd, target, O_PATH);
  if (!fd) throw_errno("resolve mount target", target);
  return fd;
}

std::string fd_path(int fd) { return fmt::format("/proc/self/fd/{}", fd); }

void make_read_only(int root_fd, const std::string& target, bool recursive) {
  // Re-open: the old fd points below the new mount, not at it.
  UniqueFd mounted = open_in_root(root_fd, target, O_PATH);
  if (!mounted) throw_errno("resolve mount", target);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  if (::mount_setattr(mounted.get(), "", flags, &attr, sizeof attr) != 0) throw_errno("make read-only", target);
}

// Below a tmpfs of ours (/dev, --contain's /tmp) mount points are made
// after it is mounted: nothing of the host or the image lies there.
bool is_on_our_tmpfs(const std::string& target, const std::vector<std::string>& ours) {
  for (const auto& dir : ours) {
    if (path_is_within(target, dir) && target != dir) return true;
  }
  return target == "/dev" || path_is_within(target, "/dev");
}

// The mount point of `target` in the merged root: made beforehand in the
// upper layer (or present in the image) and reached without following any
// symlink, so nothing is created through (or steered by) a bind from the
// host; only on our own /dev tmpfs are mount points made here.
UniqueFd mount_point(int root_fd, const std::string& target, bool directory, const std::vector<std::string>& ours) {
  if (is_on_our_tmpfs(target, ours)) return make_target(root_fd, target, directory);
  UniqueFd fd = open_in_root(root_fd, target, O_PATH, 0, RESOLVE_NO_SYMLINKS);
  if (fd) return fd;
  if (errno == ELOOP) {
    throw Error(fmt::format("mount target `{}` lies behind a symlink of a directory bound from the host", target),
                "mount at the path the symlink points to instead");
  }
  if (errno == ENOENT) {
    throw Error(fmt::format("mount target `{}` does not exist: it lies inside another bind from the host, and "
                            "hpclaunch never creates files on the host",
                            target),
                "create it on the host first, or choose a target outside that bind");
  }
  throw_errno("resolve mount target", target);
}

void bind(int root_fd, const std::string& source, const std::string& target, bool recursive, bool read_only,
          const std::vector<std::string>& ours = {"/dev"}) {
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) throw_errno("bind source", source);
  UniqueFd where = mount_point(root_fd, target, S_ISDIR(st.st_mode), ours);
  unsigned long flags = MS_BIND | (recursive ? MS_REC : 0);
  if (::mount(source.c_str(), fd_path(where.get()).c_str(), nullptr, flags, nullptr) != 0) {
    throw_errno(fmt::format("bind `{}` onto", source), target);
  }
  if (read_only) make_read_only(root_fd, target, recursive);
}

// Whether the mount point of `m` is a directory (a tmpfs, x-create=dir, a
// directory source) or a file; nullopt when its source is missing (skipped
// or reported by populate_root).
std::optional<bool> wants_directory(const MountSpec& m) {
  if (m.kind == MountKind::tmpfs) return true;
  struct stat st {};
  if (::stat(m.source.c_str(), &st) != 0) return std::nullopt;
  bool directory = S_ISDIR(st.st_mode);
  if (m.create != CreateKind::automatic && directory != (m.create == CreateKind::dir)) {
    throw Error(fmt::format("{}: x-create={} but `{}` is {}", m.origin, m.create == CreateKind::dir ? "dir" : "file",
                            m.source, directory ? "a directory" : "not a directory"),
                "drop x-create, or make it match the source");
  }
  return directory;
}

void mount_tmpfs(int root_fd, const MountSpec& m, const std::vector<std::string>& ours) {
  UniqueFd where = mount_point(root_fd, m.target, true, ours);
  unsigned long flags = MS_NOSUID | MS_NODEV | (m.read_only ? MS_RDONLY : 0);
  if (::mount("tmpfs", fd_path(where.get()).c_str(), "tmpfs", flags, m.data.c_str()) != 0) {
    throw_errno(fmt::format("{}: mount tmpfs at", m.origin), m.target);
  }
  log::info("tmpfs -> {}{}", m.target, m.data.empty() ? "" : " (" + m.data + ")");
}

void symlink_in(int dir_fd, const char* target, const char* name) {
  if (::symlinkat(target, dir_fd, name) != 0 && errno != EEXIST) throw_errno("symlink", fmt::format("/dev/{}", name));
}

void populate_dev(int root_fd, const std::vector<std::string>& nodes) {
  UniqueFd dev = make_target(root_fd, "/dev", true);
  if (::mount("tmpfs", fd_path(dev.get()).c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1m") != 0) {
    throw_errno("mount tmpfs", "/dev");
  }
  for (const auto& name : nodes) {
    std::string host = fmt::format("/dev/{}", name);
    if (::access(host.c_str(), F_OK) != 0) continue;  // absent on this node: nothing to expose
    bind(root_fd, host, host, false, false);
  }
  if (::access("/dev/pts", F_OK) == 0) bind(root_fd, "/dev/pts", "/dev/pts", true, false);
  bind(root_fd, "/dev/shm", "/dev/shm", true, false);
  UniqueFd dev_dir = open_in_root(root_fd, "/dev", O_PATH | O_DIRECTORY);
  if (!dev_dir) throw_errno("open", "/dev");
  symlink_in(dev_dir.get(), "pts/ptmx", "ptmx");
  symlink_in(dev_dir.get(), "/proc/self/fd", "fd");
  symlink_in(dev_dir.get(), "/proc/self/fd/0", "stdin");
  symlink_in(dev_dir.get(), "/proc/self/fd/1", "stdout");
  symlink_in(dev_dir.get(), "/proc/self/fd/2", "stderr");
}

// The image's small text files we read (/etc/passwd, /etc/group,
// /etc/environment): a FIFO there would block us, a device or a huge file
// would feed us forever, so only regular files up to this size.
constexpr std::uint64_t kMaxImageTextFile = 16 << 20;

std::string read_in_root(int root_fd, const std::string& path) {
  UniqueFd fd = open_in_root(root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!fd) {
    if (errno == ENOENT) return {};
    throw_errno("read image file", path);
  }
  return read_regular_file(fd.get(), fmt::format("`{}` of the image", path), kMaxImageTextFile);
}

// mkdir -p of `path` below `upper` (our tmpfs); the last component a file when !directory.
void create_in_upper(const std::string& upper, const std::string& path, bool directory) {
  std::string current = upper;
  auto parts = split(path, '/');
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    current.append("/").append(parts[i]);
    bool last = i + 1 == parts.size();
    if (last && !directory) {
      UniqueFd fd(::open(current.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
      if (!fd) throw_errno("create mount target", path);
    } else if (::mkdir(current.c_str(), 0755) != 0 && errno != EEXIST) {
      throw_errno("create mount target", path);
    }
  }
}

void write_in_upper(int lower_fd, const std::string& upper, const std::string& path, const std::string& content) {
  std::string real = resolve_in_image(lower_fd, path, true).path;
  create_in_upper(upper, dirname_of(real), true);
  write_file(upper + real, content);
}

// Where a mount lands in the image: its parents followed inside the image;
// the target itself, when the image has a symlink there, is shadowed by a
// real directory or file in the upper layer (an image's `/tmp -> /etc` must
// not steer the host's /tmp over the container's /etc).
std::string place_target(int lower_fd, const std::string& upper, const std::string& target, bool directory) {
  ImagePath where = resolve_in_image(lower_fd, target, false);
  if (!where.exists || where.is_symlink) create_in_upper(upper, where.path, directory);
  return where.path;
}

UniqueFd open_root(const std::string& root) {
  UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw_errno("open container root", root);
  return fd;
}

}  // namespace

void mount_overlay(const std::string& lower, const std::string& upper, const std::string& work,
                   const std::string& target) {
  auto options = fmt::format("lowerdir={},upperdir={},workdir={},userxattr", lower, upper, work);
  if (::mount("overlay", target.c_str(), "overlay", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    int err = errno;
    throw Error(system_error(err, "mount overlayfs at", target).what(),
                "unprivileged overlayfs with userxattr needs Linux 5.11 or later; run `hpclaunch doctor`");
  }
}

std::vector<MountSpec> prepare_upper_layer(const std::string& lower, const std::string& upper, const RootfsSpec& spec) {
  UniqueFd lower_fd = open_root(lower);
  place_target(lower_fd.get(), upper, "/dev", true);
  std::vector<MountSpec> resolved;
  std::vector<std::string> ours;  // our tmpfs mounts: what lies below them is made once they are mounted
  for (const auto& m : spec.mounts) {
    resolved.push_back(m);
    if (is_on_our_tmpfs(m.target, ours)) continue;
    auto directory = wants_directory(m);
    if (!directory) continue;  // populate_root reports a missing source
    resolved.back().target = place_target(lower_fd.get(), upper, m.target, *directory);
    if (m.kind == MountKind::tmpfs) ours.insert(ours.end(), {m.target, resolved.back().target});
  }
  write_in_upper(lower_fd.get(), upper, "/etc/passwd",
                 passwd_with_user(read_in_root(lower_fd.get(), "/etc/passwd"), spec.user));
  write_in_upper(lower_fd.get(), upper, "/etc/group",
                 group_with_user(read_in_root(lower_fd.get(), "/etc/group"), spec.user));
  return resolved;
}

void populate_root(const std::string& root, const RootfsSpec& spec, const std::vector<MountSpec>& resolved) {
  UniqueFd root_fd = open_root(root);
  populate_dev(root_fd.get(), spec.device_nodes);
  std::vector<std::string> ours = {"/dev"};
  for (const auto& m : resolved) {
    if (m.kind == MountKind::tmpfs) {
      mount_tmpfs(root_fd.get(), m, ours);
      ours.push_back(m.target);
      continue;
    }
    if (::access(m.source.c_str(), F_OK) != 0) {
      if (m.optional) continue;
      throw_errno(fmt::format("{} mount source", m.origin), m.source);
    }
    bind(root_fd.get(), m.source, m.target, m.recursive, m.read_only, ours);
    log::info("bound {} -> {}{}", m.source, m.target, m.read_only ? " (ro)" : "");
  }
}

EnvList read_image_environment(const std::string& root) {
  UniqueFd root_fd = open_root(root);
  return parse_environment_file(read_in_root(root_fd.get(), "/etc/environment"));
}

std::optional<std::string> read_image_text_file(const std::string& root, const std::string& path) {
  UniqueFd root_fd = open_root(root);
  UniqueFd fd = open_in_root(root_fd.get(), path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw_errno("read image file", path);
  }
  return read_regular_file(fd.get(), fmt::format("`{}` of the image", path), kMaxImageTextFile);
}

void make_root_read_only(const std::string& root) {
  UniqueFd fd = open_root(root);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (::mount_setattr(fd.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) throw_errno("make read-only", root);
}

void pivot_into(const std::string& root) {
  if (::chdir(root.c_str()) != 0) throw_errno("chdir", root);
  if (::syscall(SYS_pivot_root, ".", ".") != 0) throw_errno("pivot_root", root);
  if (::umount2(".", MNT_DETACH) != 0) throw_errno("detach old root", root);
  if (::chdir("/") != 0) throw_errno("chdir", "/");
}

}  // namespace hl::image
