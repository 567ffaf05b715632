#include "doctor/node_probes.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <pmix.h>

#include "common/child_process.hpp"
#include "common/env.hpp"
#include "common/error.hpp"
#include "common/files.hpp"
#include "common/json.hpp"
#include "common/private_dir.hpp"
#include "common/strings.hpp"
#include "doctor/facts.hpp"
#include "image/container.hpp"
#include "image/image_metadata.hpp"
#include "image/rootfs.hpp"
#include "image/squashfuse_server.hpp"
#include "image/user_namespace.hpp"
#include "wireup/launch_spec.hpp"
#include "wireup/node_setup.hpp"

namespace hl::doctor {
namespace {

constexpr int kProbeTimeoutMs = 10'000;
// The image is read through FUSE while the root is built: allow for a large
// image on a slow shared file system.
constexpr int kImageTimeoutMs = 100'000;
// Each probe child mounts a tmpfs of its own here, in its own mount
// namespace: nothing it makes is visible outside, or outlives it.
constexpr const char* kScratch = "/tmp";

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string read_all(int fd) {
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

// Runs `body` in a forked child (we are single-threaded: no PMIx here) and
// returns what happened: its detail, or the error it threw. A child that
// hangs (a FUSE request nobody answers) is killed at the timeout.
Outcome in_child(const std::function<std::string()>& body, int timeout_ms = kProbeTimeoutMs) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  ChildProcess child = ChildProcess::run_in_child(
      [&] {
        read_end.reset();
        Outcome outcome;
        try {
          outcome = success(body());
        } catch (const Error& e) {
          outcome = failure(e);
        } catch (const std::exception& e) {
          outcome = failure(Error(e.what()));
        }
        write_all(write_end.get(), nlohmann::json(outcome).dump());
        return 0;
      },
      SIGKILL);
  write_end.reset();
  auto code = child.wait_for(timeout_ms);
  if (!code) {
    child.terminate(0);
    return failure(Error(fmt::format("the probe did not finish in {} s", timeout_ms / 1000)));
  }
  std::string text = read_all(read_end.get());
  if (text.empty()) return failure(Error(fmt::format("the probe died ({})", describe_exit(*code))));
  return decode_json<Outcome>(text, "probe result");
}

// A user and mount namespace made the way the holder makes them (the root
// view, and the nested user view in it), with a tmpfs of our own to work in.
void enter_scratch_namespace() {
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  image::enter_root_view_namespace(uid, gid);
  image::make_mounts_private();
  image::make_user_view_namespace(uid, gid);
  if (::mount("tmpfs", kScratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") != 0) {
    throw_errno("mount tmpfs at", kScratch);
  }
}

std::string scratch(std::string_view name) { return fmt::format("{}/{}", kScratch, name); }

void make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0) throw_errno("mkdir", path);
}

std::string probe_user_namespace() {
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  enter_scratch_namespace();
  return fmt::format(
      "unshare(USER|NS) with uid {} and gid {} mapped to root, a nested one mapping them back; a "
      "tmpfs mounted",
      uid, gid);
}

// The container resolves image paths with RESOLVE_IN_ROOT (image/rootfs.cpp).
std::string probe_openat2() {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno("open", "/");
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, root.get(), ".", &how, sizeof how)));
  if (!fd) throw_errno("openat2(RESOLVE_IN_ROOT)");
  return "RESOLVE_IN_ROOT";
}

// Read-only binds (--mount SRC:DST:ro, /etc/hosts) are made with mount_setattr.
std::string probe_mount_setattr() {
  enter_scratch_namespace();
  std::string dir = scratch("ro");
  make_dir(dir);
  if (::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0) throw_errno("bind", dir);
  UniqueFd fd(::open(dir.c_str(), O_PATH | O_CLOEXEC));
  if (!fd) throw_errno("open", dir);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (::mount_setattr(fd.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
    throw_errno("mount_setattr(MOUNT_ATTR_RDONLY)", dir);
  }
  if (::mkdir((dir + "/x").c_str(), 0700) == 0 || errno != EROFS) {
    throw Error(fmt::format("mount_setattr(MOUNT_ATTR_RDONLY) left `{}` writable", dir));
  }
  return "a read-only bind in a user namespace";
}

// The holder watches its joined ranks (and signals them) through pidfds.
std::string probe_pidfd() {
  UniqueFd fd = open_pidfd(::getpid());
  if (!fd) throw_errno("pidfd_open");
  if (::syscall(SYS_pidfd_send_signal, fd.get(), 0, nullptr, 0) != 0) throw_errno("pidfd_send_signal");
  return "pidfd_open, pidfd_send_signal";
}

std::string probe_overlay() {
  enter_scratch_namespace();
  std::string lower = scratch("lower"), upper = scratch("upper"), work = scratch("work"), merged = scratch("merged");
  for (const auto& d : {lower, upper, work, merged}) make_dir(d);
  write_file(lower + "/file", "lower\n");
  image::mount_overlay(lower, upper, work, merged);
  // A new file through the overlay: what the container's writable layer is for.
  write_file(merged + "/new", "upper\n");
  if (read_file(upper + "/new") != "upper\n")
    throw Error("a file written through the overlay is not in its upper layer");
  if (read_file(merged + "/file") != "lower\n") throw Error("the overlay does not show its lower layer");
  return "overlayfs with userxattr in a user namespace, over a tmpfs upper layer, as the container mounts it";
}

std::string probe_fuse_device() {
  image::open_fuse_device();
  return "`/dev/fuse` opens read-write";
}

// The mount squashfuse_server.cpp makes. No server answers: the kernel sends
// FUSE_INIT without waiting for it, and the mount is detached at once.
std::string probe_fuse_mount() {
  enter_scratch_namespace();
  std::string dir = scratch("fuse");
  make_dir(dir);
  UniqueFd fuse = image::open_fuse_device();  // inside the user namespace, as the holder does
  auto options = fmt::format("fd={},rootmode=40000,user_id={},group_id={}", fuse.get(), ::getuid(), ::getgid());
  if (::mount("hpclaunch-doctor", dir.c_str(), "fuse.hpclaunch-doctor", MS_NOSUID | MS_NODEV | MS_RDONLY,
              options.c_str()) != 0) {
    throw_errno("mount fuse at", dir);
  }
  ::umount2(dir.c_str(), MNT_DETACH);
  return "a FUSE mount in a user namespace";
}

// The container of the launch spec, built once as a holder builds it, then
// torn down (this child's namespaces go with it).
std::string probe_image_mount(const wireup::LaunchSpec& launch) {
  PrivateDir runtime = open_runtime_dir(environment_of_this_process());
  OwnedDir dir = OwnedDir::create(runtime, launch.join.rendezvous_group, host_name());
  UniqueFd image_fd;
  auto metadata = image::read_image_metadata(launch.container.image, &image_fd);
  wireup::NodeFacts facts = wireup::discover_node_facts(launch, dirname_of(dir.path()));
  facts.setup.staging_dir = dir.dir().subdir("staging").path();
  facts.setup.image_offset = metadata.squashfs_offset;
  auto container = image::Container::build(std::move(image_fd), metadata.squashfs_size, launch.container, facts.setup);
  std::string path = env_value(container->image_environment(), "PATH");
  return fmt::format("`{}` mounted and the container built ({} mounts); its PATH={}", metadata.path,
                     launch.container.mounts.size() + facts.setup.mounts.size(), path);
}

}  // namespace

int run_node_probes(int argc, char** argv) {
  bool with_image = argc > 1 && std::string_view(argv[1]) == "--image";
  NodeProbes p;
  p.user_namespace = in_child(probe_user_namespace);
  p.openat2 = in_child(probe_openat2);
  p.mount_setattr = in_child(probe_mount_setattr);
  p.pidfd = in_child(probe_pidfd);
  p.overlay = in_child(probe_overlay);
  p.fuse_device = in_child(probe_fuse_device);
  p.fuse_mount = in_child(probe_fuse_mount);
  p.pmix_version = PMIx_Get_version();
  if (with_image) {
    auto launch = wireup::launch_spec_from_environment("hpclaunch-node doctor-probe --image");
    p.image_mount = in_child([&] { return probe_image_mount(launch); }, kImageTimeoutMs);
  }
  fmt::print("{}\n", nlohmann::json(p).dump());
  return 0;
}

}  // namespace hl::doctor
