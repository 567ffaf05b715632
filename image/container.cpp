#include "image/container.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/message_socket.hpp"
#include "common/scope_guard.hpp"
#include "common/strings.hpp"
#include "image/rootfs.hpp"
#include "image/user_namespace.hpp"

namespace hl::image {
namespace {

struct Staging {
  std::string dir;
  std::string image() const { return dir + "/image"; }
  std::string upper() const { return dir + "/upper"; }
  std::string work() const { return dir + "/work"; }
  std::string root() const { return dir + "/root"; }
};

Staging make_staging(const std::string& parent) {
  std::string templ = parent + "/hpclaunch-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw_errno("create staging dir in", parent);
  return Staging{templ};
}

void mount_staging_tmpfs(const Staging& s) {
  if (::mount("tmpfs", s.dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") != 0) {
    throw_errno("mount tmpfs", s.dir);
  }
  for (const auto& d : {s.image(), s.upper(), s.work(), s.root()}) {
    if (::mkdir(d.c_str(), 0755) != 0) throw_errno("mkdir", d);
  }
}

// The build child: a nested mount namespace where the root is assembled and
// pivoted into. It reports the image environment and hands back its mount
// namespace fd, then exits; the namespace lives on through that fd.
// Checked once per node here, so a typo gives one line instead of one per rank.
void check_program(const ContainerSpec& spec, const std::string& fallback_path, const EnvList& image_env) {
  if (spec.program.empty()) return;
  std::string path = fallback_path;
  for (const auto& [k, v] : image_env) {
    if (k == "PATH") path = v;
  }
  if (spec.program.find('/') != std::string::npos) {
    std::string full = spec.program.front() == '/' ? spec.program : spec.workdir + "/" + spec.program;
    if (::access(full.c_str(), X_OK) == 0) return;
  } else {
    for (const auto& dir : split(path, ':')) {
      if (::access(((dir.empty() ? "." : dir) + "/" + spec.program).c_str(), X_OK) == 0) return;
    }
  }
  throw Error(fmt::format("program `{}` not found in the container (PATH={}, workdir {})", spec.program, path,
                          spec.workdir),
              "check the name, or that the image contains it", 127);
}

// The child of a single-threaded holder: it may allocate and throw.
int build_root(const Staging& s, const RootfsSpec& rootfs, const ContainerSpec& spec, const NodeSetup& node,
               int report) {
  try {
    if (::unshare(CLONE_NEWNS) != 0) throw_errno("unshare(mount namespace)");
    prepare_upper_layer(s.image(), s.upper(), rootfs);
    mount_overlay(s.image(), s.upper(), s.work(), s.root());
    populate_root(s.root(), rootfs);
    EnvList env = read_image_environment(s.root());
    pivot_into(s.root());
    check_program(spec, node.fallback_path, env);
    UniqueFd mntns(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
    if (!mntns) throw_errno("open", "/proc/self/ns/mnt");
    int fd = mntns.get();
    send_message(report, nlohmann::json{{"env", env}}.dump(), std::span(&fd, 1));
    return 0;
  } catch (const Error& e) {
    send_message(report, error_to_json(e).dump());
  } catch (const std::exception& e) {
    send_message(report, error_to_json(Error(e.what())).dump());
  }
  return 1;
}

// Serves FUSE while the child builds the root (its lookups need answers).
Message serve_until_built(SquashfsServer& server, int report) {
  pollfd fds[2] = {{server.fd(), POLLIN, 0}, {report, POLLIN, 0}};
  while (true) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (fds[0].revents & POLLIN) server.process_one();
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      auto message = receive_message(report);
      if (!message) throw Error("container build child exited without a report");
      return std::move(*message);
    }
  }
}

}  // namespace

std::unique_ptr<Container> Container::build(UniqueFd image_fd, const ContainerSpec& spec, const NodeSetup& node) {
  std::unique_ptr<Container> c(new Container());
  enter_user_and_mount_namespace(::getuid(), ::getgid());
  make_mounts_private();
  c->userns_ = UniqueFd(::open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC));
  if (!c->userns_) throw_errno("open", "/proc/self/ns/user");

  Staging staging = make_staging(node.staging_parent);
  ScopeGuard remove_dir([&] { ::rmdir(staging.dir.c_str()); });
  mount_staging_tmpfs(staging);
  // Detached in our namespace once built: the overlay in the container keeps
  // what it needs, and the host directory can go at once.
  ScopeGuard detach([&] { ::umount2(staging.dir.c_str(), MNT_DETACH); });
  // Opened inside the user namespace: FUSE refuses a /dev/fuse fd whose
  // opener lives in another user namespace than the mount (EINVAL).
  UniqueFd fuse_dev = open_fuse_device();
  c->server_ = std::make_unique<SquashfsServer>(std::move(image_fd), std::move(fuse_dev), staging.image(), spec.image);

  RootfsSpec rootfs{add_node_mounts(spec.mounts, node.mounts), node.device_nodes, node.user};
  auto [ours, theirs] = message_socket_pair();
  ChildProcess child = ChildProcess::run_in_child(
      [&] {
        ours.reset();
        return build_root(staging, rootfs, spec, node, theirs.get());
      },
      SIGKILL);
  theirs.reset();
  Message report = serve_until_built(*c->server_, ours.get());
  child.wait();
  auto reply = decode_json<nlohmann::json>(report.payload, "container build report");
  if (is_error_json(reply)) throw error_from_json(reply);
  if (report.fds.size() != 1) throw Error("container build child sent no mount namespace");
  c->mntns_ = std::move(report.fds[0]);
  c->image_env_ = reply.value("env", EnvList{});
  return c;
}

}  // namespace hl::image
