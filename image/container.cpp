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
#include <cstring>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/message_socket.hpp"
#include "common/scope_guard.hpp"
#include "common/strings.hpp"
#include "image/hooks.hpp"
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
// The PATH of a container whose image sets none: Docker's default (the
// host's would name host directories, and root needs the sbin ones: dpkg
// runs ldconfig).
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Where the ranks start: --workdir, else the image's WorkingDir, else the cwd.
std::string effective_workdir(const ContainerSpec& spec, const ImageConfig& config) {
  if (spec.workdir_given || config.workdir.empty()) return spec.workdir;
  return config.workdir;
}

void check_program(const ContainerSpec& spec, const ImageConfig& config, const EnvList& image_env) {
  if (spec.skip_program_check) return;
  // The first launch's command: a typo (or an image without Entrypoint or
  // Cmd and no program given) is one line per node, not one per rank.
  std::string program = rank_command(config, spec.command, spec.image).front();
  std::string workdir = effective_workdir(spec, config);
  std::string path = env_value(image_env, "PATH");
  // An I/O error is the image failing to read (a corrupt one), not a
  // missing program: say which.
  auto found = [](const std::string& candidate) {
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    if (errno == EIO) throw system_error(EIO, "look up the program in the image at", candidate);
    return false;
  };
  if (program.find('/') != std::string::npos) {
    if (found(program.front() == '/' ? program : workdir + "/" + program)) return;
  } else {
    for (const auto& dir : split(path, ':')) {
      if (found((dir.empty() ? "." : dir) + "/" + program)) return;
    }
  }
  throw Error(fmt::format("program `{}` not found in the container (PATH={}, workdir {})", program, path, workdir),
              "check the name, or that the image contains it", 127);
}

// Our FUSE server answers EIO when the image's tables or blocks do not
// decode: a build step that read one names the image and how to check it;
// so does one that found a broken file in it.
Error with_image_hint(const Error& e, const std::string& image) {
  std::string_view what = e.what();
  if (what.find(" of the image ") != std::string_view::npos) {
    return Error(fmt::format("image `{}`: {}", image, what), "the image is broken: rebuild it", e.exit_code());
  }
  if (what.find(std::strerror(EIO)) == std::string_view::npos) return e;
  return Error(
      fmt::format("image `{}`: {}", image, e.what()),
      fmt::format("the image may be corrupt: check it with `unsquashfs -s {0}` and `unsquashfs -l {0}`", image),
      e.exit_code());
}

// The child of a single-threaded holder: it may allocate and throw.
int build_root(const Staging& s, const RootfsSpec& rootfs, const ContainerSpec& spec, int report) {
  try {
    if (::unshare(CLONE_NEWNS) != 0) throw_errno("unshare(mount namespace)");
    auto resolved = prepare_upper_layer(s.image(), s.upper(), rootfs);
    mount_overlay(s.image(), s.upper(), s.work(), s.root());
    populate_root(s.root(), rootfs, resolved);
    // Without --writable the image stays read-only (the binds keep their own
    // modes); the upper layer then only holds what we prepared in it.
    // Site hooks (hooks.d) see the finished root before the ranks do, in
    // this mount namespace (so what they mount is the ranks'), with the
    // host still reachable: the host MPI they bind lies there.
    EnvList hook_env = run_hooks(spec, s.root(), s.dir);
    if (!spec.writable) make_root_read_only(s.root());
    EnvList env = read_image_environment(s.root());
    ImageConfig config = image_config_from_files(read_image_text_file(s.root(), "/.hpclaunch/config.json"),
                                                 read_image_text_file(s.root(), "/etc/rc"), spec.image);
    pivot_into(s.root());
    // The host's /tmp (or $TMPDIR) bound into the root brought a copy of the
    // staging tmpfs along; the ranks have no business there.
    ::umount2(s.dir.c_str(), MNT_DETACH);
    if (!env_has(env, "PATH")) env_set(env, "PATH", kDefaultPath);
    check_program(spec, config, env);
    UniqueFd mntns(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
    if (!mntns) throw_errno("open", "/proc/self/ns/mnt");
    int fd = mntns.get();
    send_message(report, to_wire({{"env", env}, {"config", config}, {"hook_env", hook_env}}), std::span(&fd, 1));
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

std::unique_ptr<Container> Container::build(UniqueFd image_fd, std::uint64_t image_size, const ContainerSpec& spec,
                                            const NodeSetup& node) {
  std::unique_ptr<Container> c(new Container());
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  enter_root_view_namespace(uid, gid);
  make_mounts_private();
  c->root_view_ = UniqueFd(::open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC));
  if (!c->root_view_) throw_errno("open", "/proc/self/ns/user");
  c->user_view_ = make_user_view_namespace(uid, gid);

  Staging staging{node.staging_dir};
  mount_staging_tmpfs(staging);
  // Detached in our namespace once built: the overlay in the container keeps
  // what it needs.
  ScopeGuard detach([&] { ::umount2(staging.dir.c_str(), MNT_DETACH); });
  // Opened inside the user namespace: FUSE refuses a /dev/fuse fd whose
  // opener lives in another user namespace than the mount (EINVAL).
  UniqueFd fuse_dev = open_fuse_device();
  c->server_ = std::make_unique<SquashfsServer>(std::move(image_fd), image_size, std::move(fuse_dev), staging.image(),
                                                spec.image, node.image_offset);

  RootfsSpec rootfs{add_node_mounts(spec.mounts, node.mounts), node.device_nodes, node.user};
  auto [ours, theirs] = message_socket_pair();
  ChildProcess child = ChildProcess::run_in_child(
      [&] {
        ours.reset();
        return build_root(staging, rootfs, spec, theirs.get());
      },
      SIGKILL);
  theirs.reset();
  Message report = serve_until_built(*c->server_, ours.get());
  child.wait();
  auto reply = decode_json<nlohmann::json>(report.payload, "container build report");
  if (is_error_json(reply)) throw with_image_hint(error_from_json(reply), spec.image);
  if (report.fds.size() != 1) throw Error("container build child sent no mount namespace");
  c->mntns_ = std::move(report.fds[0]);
  c->image_env_ = reply.value("env", EnvList{});
  c->hook_env_ = reply.value("hook_env", EnvList{});
  c->image_config_ = reply.at("config").get<ImageConfig>();
  return c;
}

}  // namespace hl::image
